//! XGBoost's JSON model format (the subset a one-output tree booster uses)
//! and its prediction.

use rustydb::SqlError;
use serde::Deserialize;

fn invalid(message: impl Into<String>) -> SqlError {
    SqlError::new("22023", message)
}

#[derive(Deserialize)]
struct File {
    learner: Learner,
}

#[derive(Deserialize)]
struct Learner {
    gradient_booster: Booster,
    learner_model_param: LearnerParam,
    objective: Objective,
}

#[derive(Deserialize)]
struct Booster {
    name: String,
    #[serde(default)]
    model: Option<Trees>,
}

#[derive(Deserialize)]
struct Trees {
    trees: Vec<JsonTree>,
}

// XGBoost writes its scalar parameters as strings.
#[derive(Deserialize)]
struct LearnerParam {
    base_score: String,
    #[serde(default)]
    num_class: Option<String>,
    #[serde(default)]
    num_target: Option<String>,
}

#[derive(Deserialize)]
struct Objective {
    name: String,
}

#[derive(Deserialize)]
struct JsonTree {
    left_children: Vec<i64>,
    right_children: Vec<i64>,
    split_indices: Vec<i64>,
    split_conditions: Vec<f32>,
    default_left: Vec<serde_json::Value>,
    #[serde(default)]
    split_type: Vec<i64>,
}

/// What turns the summed margin into the prediction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Link {
    Identity,
    Logistic,
    Exp,
}

const LEAF: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
struct Node {
    /// `LEAF` for a leaf; children are `left` and `left`'s sibling `right`.
    left: u32,
    right: u32,
    feature: u32,
    /// The split threshold, or the leaf's value.
    value: f32,
    default_left: bool,
}

/// A loaded booster.
#[derive(Debug, Clone)]
pub struct Model {
    trees: Vec<Vec<Node>>,
    base_margin: f32,
    link: Link,
}

fn count(param: &Option<String>, what: &str) -> Result<u64, SqlError> {
    match param {
        None => Ok(0),
        Some(s) => s
            .parse()
            .map_err(|_| invalid(format!("model {what} \"{s}\" is not a number"))),
    }
}

/// `"5E-1"` or, since XGBoost 3, `"[5E-1]"`.
fn base_score(s: &str) -> Result<f32, SqlError> {
    let inner = s.trim().trim_start_matches('[').trim_end_matches(']');
    inner
        .split(',')
        .next()
        .and_then(|v| v.trim().parse::<f32>().ok())
        .ok_or_else(|| invalid(format!("model base_score \"{s}\" is not a number")))
}

fn link_of(objective: &str) -> Result<Link, SqlError> {
    Ok(match objective {
        "reg:squarederror" | "reg:linear" | "reg:squaredlogerror" | "reg:pseudohubererror"
        | "reg:absoluteerror" | "reg:quantileerror" | "binary:logitraw" | "rank:pairwise"
        | "rank:ndcg" | "rank:map" => Link::Identity,
        "binary:logistic" | "reg:logistic" => Link::Logistic,
        "count:poisson" | "reg:gamma" | "reg:tweedie" => Link::Exp,
        other => return Err(invalid(format!("objective \"{other}\" is not supported"))),
    })
}

/// XGBoost's `ProbToMargin`: the base score in margin space.
fn margin_of(objective: &str, base: f32) -> Result<f32, SqlError> {
    Ok(match objective {
        "binary:logistic" | "reg:logistic" | "binary:logitraw" => {
            if !(base > 0.0 && base < 1.0) {
                return Err(invalid(format!(
                    "base_score {base} must lie strictly between 0 and 1"
                )));
            }
            -(1.0 / base - 1.0).ln()
        }
        "count:poisson" | "reg:gamma" | "reg:tweedie" => {
            if base <= 0.0 {
                return Err(invalid(format!("base_score {base} must be positive")));
            }
            base.ln()
        }
        _ => base,
    })
}

fn flag(v: &serde_json::Value) -> Result<bool, SqlError> {
    match v {
        serde_json::Value::Bool(b) => Ok(*b),
        serde_json::Value::Number(n) if n.as_u64() == Some(0) => Ok(false),
        serde_json::Value::Number(n) if n.as_u64() == Some(1) => Ok(true),
        other => Err(invalid(format!("default_left holds {other}"))),
    }
}

/// Checks one tree's arrays and turns them into nodes: every child index in
/// range, every node but the root the child of exactly one node (so a walk
/// from the root cannot loop), splits numerical and on features `score`
/// has.
fn tree(t: JsonTree, index: usize, features: usize) -> Result<Vec<Node>, SqlError> {
    let n = t.left_children.len();
    let bad = |what: &str| invalid(format!("tree {index}: {what}"));
    if n == 0 {
        return Err(bad("has no nodes"));
    }
    if [
        t.right_children.len(),
        t.split_indices.len(),
        t.split_conditions.len(),
        t.default_left.len(),
    ]
    .iter()
    .any(|&len| len != n)
        || (!t.split_type.is_empty() && t.split_type.len() != n)
    {
        return Err(bad("arrays of different lengths"));
    }
    if t.split_type.iter().any(|&s| s != 0) {
        return Err(bad("categorical splits are not supported"));
    }
    let mut parents = vec![0u8; n];
    let mut nodes = Vec::with_capacity(n);
    for i in 0..n {
        let (l, r) = (t.left_children[i], t.right_children[i]);
        let value = t.split_conditions[i];
        if l == -1 && r == -1 {
            nodes.push(Node {
                left: LEAF,
                right: LEAF,
                feature: 0,
                value,
                default_left: false,
            });
            continue;
        }
        let child = |c: i64| -> Result<u32, SqlError> {
            match usize::try_from(c) {
                Ok(c) if c > 0 && c < n => Ok(c as u32),
                _ => Err(bad("a child index out of range")),
            }
        };
        let (left, right) = (child(l)?, child(r)?);
        for c in [left, right] {
            parents[c as usize] += 1;
            if parents[c as usize] > 1 {
                return Err(bad("a node with two parents"));
            }
        }
        let feature = match usize::try_from(t.split_indices[i]) {
            Ok(f) if f < features => f as u32,
            _ => {
                return Err(bad(&format!(
                    "a split on feature {}, but the scorer takes {features}",
                    t.split_indices[i]
                )));
            }
        };
        nodes.push(Node {
            left,
            right,
            feature,
            value,
            default_left: flag(&t.default_left[i])?,
        });
    }
    Ok(nodes)
}

impl Model {
    /// Parses an XGBoost JSON model whose trees split on at most `features`
    /// features.
    ///
    /// # Errors
    /// 22023 for anything that is not such a model, naming what is wrong.
    pub fn from_json(bytes: &[u8], features: usize) -> Result<Model, SqlError> {
        let file: File = serde_json::from_slice(bytes)
            .map_err(|e| invalid(format!("not an XGBoost JSON model: {e}")))?;
        let learner = file.learner;
        if learner.gradient_booster.name != "gbtree" {
            return Err(invalid(format!(
                "booster \"{}\" is not supported (only gbtree)",
                learner.gradient_booster.name
            )));
        }
        let param = &learner.learner_model_param;
        if count(&param.num_class, "num_class")? > 1 || count(&param.num_target, "num_target")? > 1
        {
            return Err(invalid("multi-class and multi-target models are not supported"));
        }
        let objective = learner.objective.name.as_str();
        let link = link_of(objective)?;
        let base_margin = margin_of(objective, base_score(&param.base_score)?)?;
        let trees = learner
            .gradient_booster
            .model
            .ok_or_else(|| invalid("the booster has no trees"))?
            .trees
            .into_iter()
            .enumerate()
            .map(|(i, t)| tree(t, i, features))
            .collect::<Result<_, _>>()?;
        Ok(Model {
            trees,
            base_margin,
            link,
        })
    }

    /// The prediction for one feature row (`None` = missing).
    pub fn predict(&self, features: &[Option<f64>]) -> f64 {
        let x: Vec<f32> = features
            .iter()
            .map(|f| f.map_or(f32::NAN, |v| v as f32))
            .collect();
        let mut margin = self.base_margin;
        for nodes in &self.trees {
            let mut node = nodes[0];
            while node.left != LEAF {
                let v = x.get(node.feature as usize).copied().unwrap_or(f32::NAN);
                let left = if v.is_nan() {
                    node.default_left
                } else {
                    v < node.value
                };
                // In range and acyclic: checked at load.
                node = nodes[(if left { node.left } else { node.right }) as usize];
            }
            margin += node.value;
        }
        f64::from(match self.link {
            Link::Identity => margin,
            Link::Logistic => 1.0 / (1.0 + (-margin).exp()),
            Link::Exp => margin.exp(),
        })
    }

    /// The number of trees.
    pub fn trees(&self) -> usize {
        self.trees.len()
    }

    /// The objective's link.
    pub fn link(&self) -> Link {
        self.link
    }
}
