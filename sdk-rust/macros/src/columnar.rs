//! The typed loop of a scalar function over columns, for signatures of
//! `i64`, `i32`, `f64` and `bool` alone (optionally returning a `Result`).
//!
//! The choice is syntactic — the macro sees tokens, not types — so an alias
//! of `i64` takes the per-row path; the generated code goes through the
//! SDK's `ColumnType` / `ColumnResult` traits, so the compiler still checks
//! what the tokens promised.

use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{format_ident, quote};
use syn::{GenericArgument, Ident, PathArguments, Type};

const TYPED: [&str; 4] = ["i64", "i32", "f64", "bool"];

/// `i64`, `i32`, `f64` or `bool`, written as the bare name.
fn is_typed(ty: &Type) -> bool {
    let Type::Path(p) = ty else { return false };
    p.qself.is_none()
        && p.path
            .get_ident()
            .is_some_and(|i| TYPED.iter().any(|t| i == t))
}

/// A typed result: one of [`TYPED`], or `Result<one, _>`.
fn is_typed_result(ty: &Type) -> bool {
    if is_typed(ty) {
        return true;
    }
    let Type::Path(p) = ty else { return false };
    let Some(last) = p.path.segments.last() else {
        return false;
    };
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return false;
    };
    last.ident == "Result"
        && args.args.len() == 2
        && matches!(args.args.first(), Some(GenericArgument::Type(t)) if is_typed(t))
}

/// The `columns` entry of function `name`: `Some(loop)` when its signature
/// has a typed loop, else `None`.
pub fn entry(name: &Ident, args: &[Type], ret: &Type, strict: bool) -> TokenStream2 {
    if !(args.iter().all(is_typed) && is_typed_result(ret)) {
        return quote!(::core::option::Option::None);
    }
    let p = quote!(::rustydb::__private);
    let c = quote!(#p::columnar);
    let rows = Ident::new("__rows", Span::call_site());
    let cols: Vec<Ident> = (0..args.len()).map(|i| format_ident!("__c{i}")).collect();
    let data: Vec<Ident> = (0..args.len()).map(|i| format_ident!("__d{i}")).collect();
    let call = quote!(#c::ColumnResult::into_item(#name(#(#data[__i]),*))?);
    // A NULL a non-STRICT function takes as `i64` fails per row (22004) as
    // it does through `call-scalar`; the per-row path says so.
    let on_null = if strict {
        quote!()
    } else {
        quote!(if !__nulls.is_empty() {
            return ::core::option::Option::None;
        })
    };
    quote! {{
        fn __rustydb_columns(
            #rows: usize,
            __cols: &[#p::ValueColumn],
        ) -> ::core::option::Option<::core::result::Result<#p::ValueColumn, ::rustydb::SqlError>> {
            let [#(#cols),*] = __cols else {
                return ::core::option::Option::None;
            };
            #(let #data: &[#args] = #c::typed::<#args>(#cols, #rows)?;)*
            let __nulls = #c::any_null(#rows, __cols);
            #on_null
            let __run = || -> ::core::result::Result<#p::ValueColumn, ::rustydb::SqlError> {
                let mut __out = ::std::vec::Vec::with_capacity(#rows);
                if __nulls.is_empty() {
                    for __i in 0..#rows {
                        __out.push(#call);
                    }
                } else {
                    for __i in 0..#rows {
                        __out.push(if __nulls[__i] {
                            ::core::default::Default::default()
                        } else {
                            #call
                        });
                    }
                }
                ::core::result::Result::Ok(#p::ValueColumn {
                    nulls: __nulls,
                    data: #c::ColumnType::column(__out),
                })
            };
            ::core::option::Option::Some(__run())
        }
        ::core::option::Option::Some(__rustydb_columns as #c::ColumnsFn)
    }}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(s: &str) -> Type {
        syn::parse_str(s).unwrap()
    }

    #[test]
    fn only_bare_numbers_and_booleans_have_a_typed_loop() {
        for t in ["i64", "i32", "f64", "bool"] {
            assert!(is_typed(&ty(t)), "{t}");
        }
        for t in [
            "String",
            "Option<i64>",
            "i16",
            "f32",
            "std::primitive::i64",
            "&i64",
        ] {
            assert!(!is_typed(&ty(t)), "{t}");
        }
        assert!(is_typed_result(&ty("Result<i64, SqlError>")));
        assert!(is_typed_result(&ty(
            "core::result::Result<bool, rustydb::SqlError>"
        )));
        assert!(!is_typed_result(&ty("Result<String, SqlError>")));
        assert!(!is_typed_result(&ty("Option<f64>")));
    }
}
