//! `#[rustydb::trigger]`, and `#[rustydb::trigger(rows = f)]`.

use proc_macro2::TokenStream as TokenStream2;
use quote::quote;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, ItemFn, Meta, Token};

use crate::sig::routine_const;

/// The one option, `rows = f`: the function that takes a batch of AFTER ROW
/// events in one call.
fn rows_option(attr: TokenStream2) -> syn::Result<Option<Expr>> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(attr)?;
    let mut rows = None;
    for meta in metas {
        match meta {
            Meta::NameValue(nv) if nv.path.is_ident("rows") && rows.is_none() => {
                rows = Some(nv.value);
            }
            other => {
                return Err(syn::Error::new_spanned(
                    other,
                    "a trigger takes one option, `rows = f`: its batch function",
                ));
            }
        }
    }
    Ok(rows)
}

pub fn expand(attr: TokenStream2, item: TokenStream2) -> syn::Result<TokenStream2> {
    let func: ItemFn = syn::parse2(item)?;
    let rows = rows_option(attr)?;
    if func.sig.inputs.len() != 1 {
        return Err(syn::Error::new_spanned(
            &func.sig,
            "a trigger function takes one argument, the `rustydb::Trigger`",
        ));
    }
    let name = &func.sig.ident;
    let sql_name = name.to_string();
    let konst = routine_const(name);
    let vis = &func.vis;
    let p = quote!(::rustydb::__private);
    let rows = match rows {
        Some(f) => quote! {
            ::core::option::Option::Some({
                fn __rustydb_rows(
                    tg: &::rustydb::Trigger,
                    events: ::std::vec::Vec<::rustydb::RowEvent>,
                ) -> ::core::result::Result<(), ::rustydb::SqlError> {
                    #f(tg, events)
                }
                __rustydb_rows
            })
        },
        None => quote!(::core::option::Option::None),
    };
    Ok(quote! {
        #func

        #[doc(hidden)]
        #[allow(non_upper_case_globals)]
        #vis const #konst: #p::Routine = {
            fn __rustydb_entry(
                tg: ::rustydb::Trigger,
            ) -> ::core::result::Result<::rustydb::TriggerAction, ::rustydb::SqlError> {
                ::rustydb::TriggerReturn::into_action(#name(tg))
            }
            #p::Routine {
                name: #sql_name,
                params: &[],
                returns: &[],
                volatility: #p::Vol::Volatile,
                strict: false,
                call: #p::Call::Trigger(#p::TriggerEntry {
                    row: __rustydb_entry,
                    rows: #rows,
                }),
            }
        };
    })
}
