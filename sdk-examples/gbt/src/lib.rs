//! `gbt`: scores gradient-boosted trees saved by XGBoost
//! (`Booster.save_model("model.json")`), the format's own JSON.
//!
//! ```sql
//! CREATE MODEL churn(age float8, balance float8, tenure float8, activity float8)
//!   RETURNS float8 LANGUAGE wasm AS 'gbt', 'score' PARAMETERS $1;  -- model.json
//! SELECT id, churn(age, balance, tenure, activity) FROM customers;
//! ```
//!
//! The model is parsed once per instance, at `load`; scoring walks each tree
//! exactly as XGBoost's CPU predictor does — features as `float`, left when
//! `value < split`, a missing value (SQL NULL) down the node's default
//! branch, leaf values summed in `float` onto the base margin — and applies
//! the objective's link. Supported: one-output `gbtree` boosters with
//! numerical splits and the objectives whose link is the identity
//! (`reg:squarederror`, `binary:logitraw`, …), the logistic function
//! (`binary:logistic`, `reg:logistic`) or `exp` (`count:poisson`,
//! `reg:gamma`, `reg:tweedie`). Anything else is refused at load with
//! SQLSTATE 22023, never scored approximately.

mod xgboost;

use rustydb::SqlError;
pub use xgboost::{Link, Model};

/// The number of features `score` takes.
pub const FEATURES: usize = 4;

#[rustydb::model(name = "score", immutable)]
impl Model {
    fn load(params: &[u8]) -> Result<Model, SqlError> {
        Model::from_json(params, FEATURES)
    }

    /// The prediction for one row; NULL features are missing values.
    fn score(
        &self,
        f0: Option<f64>,
        f1: Option<f64>,
        f2: Option<f64>,
        f3: Option<f64>,
    ) -> f64 {
        self.predict(&[f0, f1, f2, f3])
    }
}

rustydb::export!(score);
