//! The options of the routine attributes: `#[rustydb::function(immutable,
//! strict)]`, `#[rustydb::aggregate(name = "median", state = bytes)]`, …

use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::quote;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, Lit, Meta, Token};

/// The options one attribute accepts.
#[derive(Clone, Copy, Default)]
pub struct Accepts {
    /// `immutable`, `stable`, `volatile`, `strict`.
    pub function: bool,
    /// `name = "…"`.
    pub name: bool,
    /// `state = bytes | serde`.
    pub state: bool,
    /// `columns(a, b, …)`.
    pub columns: bool,
}

/// The options as written.
pub struct Options {
    pub volatility: TokenStream2,
    pub strict: bool,
    pub name: Option<String>,
    /// `state = bytes`: the state implements `rustydb::BytesState`.
    pub bytes_state: bool,
    pub columns: Option<Vec<Ident>>,
}

fn unknown(span: Span, what: &str) -> syn::Error {
    syn::Error::new(span, format!("unknown option: this attribute takes {what}"))
}

fn describe(accepts: Accepts) -> String {
    let mut takes = Vec::new();
    if accepts.function {
        takes.push("immutable, stable, volatile, strict");
    }
    if accepts.name {
        takes.push("name = \"…\"");
    }
    if accepts.state {
        takes.push("state = bytes | serde");
    }
    if accepts.columns {
        takes.push("columns(…)");
    }
    if takes.is_empty() {
        "no options".to_owned()
    } else {
        takes.join(", ")
    }
}

/// Parses `attr` as the options `accepts` allows.
pub fn parse(attr: TokenStream2, accepts: Accepts) -> syn::Result<Options> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(attr)?;
    let what = describe(accepts);
    let mut options = Options {
        volatility: quote!(Volatile),
        strict: false,
        name: None,
        bytes_state: false,
        columns: None,
    };
    for meta in metas {
        let span = syn::spanned::Spanned::span(&meta);
        match &meta {
            Meta::Path(path) if accepts.function => {
                let flag = path.get_ident().map(Ident::to_string).unwrap_or_default();
                match flag.as_str() {
                    "immutable" => options.volatility = quote!(Immutable),
                    "stable" => options.volatility = quote!(Stable),
                    "volatile" => options.volatility = quote!(Volatile),
                    "strict" => options.strict = true,
                    _ => return Err(unknown(span, &what)),
                }
            }
            Meta::NameValue(nv) if accepts.name && nv.path.is_ident("name") => {
                let Expr::Lit(lit) = &nv.value else {
                    return Err(syn::Error::new(span, "name = \"sql_name\""));
                };
                let Lit::Str(s) = &lit.lit else {
                    return Err(syn::Error::new(span, "name = \"sql_name\""));
                };
                options.name = Some(s.value());
            }
            Meta::NameValue(nv) if accepts.state && nv.path.is_ident("state") => {
                let Expr::Path(p) = &nv.value else {
                    return Err(syn::Error::new(span, "state = bytes | serde"));
                };
                match p.path.get_ident().map(Ident::to_string).as_deref() {
                    Some("bytes") => options.bytes_state = true,
                    Some("serde") => options.bytes_state = false,
                    _ => return Err(syn::Error::new(span, "state = bytes | serde")),
                }
            }
            Meta::List(list) if accepts.columns && list.path.is_ident("columns") => {
                let names =
                    Punctuated::<Ident, Token![,]>::parse_terminated.parse2(list.tokens.clone())?;
                options.columns = Some(names.into_iter().collect());
            }
            _ => return Err(unknown(span, &what)),
        }
    }
    Ok(options)
}
