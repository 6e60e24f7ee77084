//! The attribute macros of `rustydb-sdk`, used as `#[rustydb::procedure]`,
//! `#[rustydb::function]`, `#[rustydb::trigger]` and `rustydb::export!`.
//!
//! Each attribute leaves the user's function as written and adds, beside it,
//! a hidden `const` describing it: its SQL name, argument names and types,
//! result type, volatility and strictness, and an entry point that converts
//! a row of SQL values into the Rust arguments. `export!` gathers those
//! constants into the module's routine table and implements the WIT
//! exports over it, so the description `CREATE MODULE` reads can never
//! drift from the code. The expansions name the SDK as `::rustydb`.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{format_ident, quote};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{FnArg, Ident, ItemFn, Pat, Path, ReturnType, Token, Type};

/// A stored procedure: `CALL module.name(args)`.
///
/// The function takes arguments of SQL types (`i64`, `String`, `Option<T>`
/// for nullable ones, …) and returns `()`, [`Rows`](rustydb::Rows) to send
/// rows to the client, or a `Result` of either with a `SqlError`.
#[proc_macro_attribute]
pub fn procedure(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Procedure, attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// A scalar function. Options: `immutable`, `stable` or `volatile` (the
/// default, as in PostgreSQL), and `strict` (NULL in any argument gives NULL
/// without calling the function). The host calls it in batches of rows;
/// the batch loop is generated.
#[proc_macro_attribute]
pub fn function(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Function, attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// A trigger function: `fn f(tg: rustydb::Trigger) -> …` returning a
/// [`TriggerAction`](rustydb::TriggerAction), `()` (keep the row), or a
/// `Result` of either. Bind it with `CREATE TRIGGER … EXECUTE FUNCTION
/// module.f(args)`.
#[proc_macro_attribute]
pub fn trigger(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand_trigger(attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Exports the listed routines (`export!(transfer, statement)`) as the
/// module's WIT exports. Use once per module crate.
#[proc_macro]
pub fn export(input: TokenStream) -> TokenStream {
    expand_export(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Procedure,
    Function,
}

fn routine_const(name: &Ident) -> Ident {
    format_ident!("__rustydb_routine_{}", name)
}

fn expand(kind: Kind, attr: TokenStream2, item: TokenStream2) -> syn::Result<TokenStream2> {
    let func: ItemFn = syn::parse2(item)?;
    let options = Punctuated::<Ident, Token![,]>::parse_terminated.parse2(attr)?;
    let mut volatility = quote!(Volatile);
    let mut strict = false;
    for option in &options {
        match (kind, option.to_string().as_str()) {
            (Kind::Function, "immutable") => volatility = quote!(Immutable),
            (Kind::Function, "stable") => volatility = quote!(Stable),
            (Kind::Function, "volatile") => volatility = quote!(Volatile),
            (Kind::Function, "strict") => strict = true,
            _ => {
                return Err(syn::Error::new(
                    option.span(),
                    "unknown option: functions take immutable, stable, volatile, strict; procedures none",
                ));
            }
        }
    }
    if let Some(generics) = func.sig.generics.params.first() {
        return Err(syn::Error::new_spanned(
            generics,
            "a routine cannot be generic",
        ));
    }

    let name = &func.sig.ident;
    let sql_name = name.to_string();
    let mut arg_names = Vec::new();
    let mut arg_types: Vec<&Type> = Vec::new();
    for input in &func.sig.inputs {
        let FnArg::Typed(pt) = input else {
            return Err(syn::Error::new_spanned(input, "a routine takes no `self`"));
        };
        let Pat::Ident(pi) = &*pt.pat else {
            return Err(syn::Error::new_spanned(
                &pt.pat,
                "name each argument with a plain identifier",
            ));
        };
        arg_names.push(pi.ident.clone());
        arg_types.push(&pt.ty);
    }
    let arg_sql_names: Vec<String> = arg_names.iter().map(|i| i.to_string()).collect();
    let count = arg_names.len();
    let p = quote!(::rustydb::__private);

    let (result_ty, convert, returns, call) = match kind {
        Kind::Procedure => (
            quote!(::rustydb::Rows),
            quote!(#p::ProcedureReturn::into_rows),
            quote!(::core::option::Option::None),
            quote!(#p::Call::Procedure),
        ),
        Kind::Function => {
            let ReturnType::Type(_, ret) = &func.sig.output else {
                return Err(syn::Error::new_spanned(
                    &func.sig,
                    "a function must return a value",
                ));
            };
            (
                quote!(::rustydb::Value),
                quote!(#p::ScalarReturn::into_result),
                quote!(::core::option::Option::Some(#p::return_type::<#ret>())),
                quote!(#p::Call::Scalar),
            )
        }
    };
    let konst = routine_const(name);
    let vis = &func.vis;
    let entry = Ident::new("__rustydb_entry", Span::call_site());

    Ok(quote! {
        #func

        #[doc(hidden)]
        #[allow(non_upper_case_globals)]
        #vis const #konst: #p::Routine = {
            fn #entry(
                args: ::std::vec::Vec<::rustydb::Value>,
            ) -> ::core::result::Result<#result_ty, ::rustydb::SqlError> {
                #[allow(unused_mut)]
                let mut args = #p::args(args, #count, #sql_name)?;
                #(let #arg_names: #arg_types = #p::arg::<#arg_types>(&mut args, #arg_sql_names)?;)*
                #convert(#name(#(#arg_names),*))
            }
            #p::Routine {
                name: #sql_name,
                params: &[#((#arg_sql_names, #p::data_type::<#arg_types>())),*],
                returns: #returns,
                volatility: #p::Vol::#volatility,
                strict: #strict,
                call: #call(#entry),
            }
        };
    })
}

fn expand_trigger(attr: TokenStream2, item: TokenStream2) -> syn::Result<TokenStream2> {
    let func: ItemFn = syn::parse2(item)?;
    if let Some(option) = attr.into_iter().next() {
        return Err(syn::Error::new(option.span(), "a trigger takes no options"));
    }
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
                returns: ::core::option::Option::None,
                volatility: #p::Vol::Volatile,
                strict: false,
                call: #p::Call::Trigger(__rustydb_entry),
            }
        };
    })
}

fn expand_export(input: TokenStream2) -> syn::Result<TokenStream2> {
    let paths = Punctuated::<Path, Token![,]>::parse_terminated.parse2(input)?;
    let mut consts = Vec::new();
    for path in paths {
        let mut path = path;
        let Some(last) = path.segments.last_mut() else {
            return Err(syn::Error::new(
                Span::call_site(),
                "list the routines to export",
            ));
        };
        last.ident = routine_const(&last.ident);
        consts.push(path);
    }
    let p = quote!(::rustydb::__private);
    let v = quote!(::rustydb::Value);
    let e = quote!(::rustydb::SqlError);
    let r = quote!(::core::result::Result);
    let vec = quote!(::std::vec::Vec);
    let s = quote!(::std::string::String);
    Ok(quote! {
        const _: () = {
            struct __RustydbModule;
            const __ROUTINES: &[&#p::Routine] = &[#(&#consts),*];

            impl #p::DescribeGuest for __RustydbModule {
                fn routines() -> #vec<#p::Description> {
                    #p::describe(__ROUTINES)
                }
            }
            impl #p::ProcedureGuest for __RustydbModule {
                fn call_procedure(name: #s, args: #vec<#v>) -> #r<::rustydb::Rows, #e> {
                    #p::call_procedure(__ROUTINES, &name, args)
                }
            }
            impl #p::ScalarGuest for __RustydbModule {
                fn call_scalar(name: #s, args: #vec<#vec<#v>>) -> #r<#vec<#v>, #e> {
                    #p::call_scalar(__ROUTINES, &name, args)
                }
            }
            impl #p::AggregateGuest for __RustydbModule {
                fn init(name: #s) -> #r<#vec<u8>, #e> {
                    #p::not_provided("aggregate", &name)
                }
                fn accumulate(name: #s, _: #vec<u8>, _: #vec<#vec<#v>>) -> #r<#vec<u8>, #e> {
                    #p::not_provided("aggregate", &name)
                }
                fn merge(name: #s, _: #vec<u8>, _: #vec<u8>) -> #r<#vec<u8>, #e> {
                    #p::not_provided("aggregate", &name)
                }
                fn finish(name: #s, _: #vec<u8>) -> #r<#v, #e> {
                    #p::not_provided("aggregate", &name)
                }
            }
            impl #p::TableGuest for __RustydbModule {
                fn call_table(name: #s, _: #vec<#v>) -> #r<#vec<#vec<#v>>, #e> {
                    #p::not_provided("table function", &name)
                }
            }
            impl #p::TriggerGuest for __RustydbModule {
                fn call_trigger(name: #s, data: #p::TriggerData) -> #r<#p::TriggerResult, #e> {
                    #p::call_trigger(__ROUTINES, &name, data)
                }
            }
            impl #p::ModelGuest for __RustydbModule {
                fn load(name: #s, _: #vec<u8>) -> #r<(), #e> {
                    #p::not_provided("model", &name)
                }
                fn score(name: #s, _: #vec<#vec<#v>>) -> #r<#vec<#v>, #e> {
                    #p::not_provided("model", &name)
                }
            }

            #p::__export_extension!(__RustydbModule with_types_in ::rustydb::__private::bindings);
        };
    })
}
