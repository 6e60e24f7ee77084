//! `#[rustydb::aggregate]` on the `impl` block of a state type.

use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::quote;
use syn::{Ident, ImplItem, ImplItemFn, ItemImpl, ReturnType, Type};

use crate::options::{self, Accepts};
use crate::sig::{bind_args, params, routine_const, snake_case, typed_args};

/// The method `name` of the impl block, if it has one.
pub fn method<'a>(block: &'a ItemImpl, name: &str) -> Option<&'a ImplItemFn> {
    block.items.iter().find_map(|item| match item {
        ImplItem::Fn(f) if f.sig.ident == name => Some(f),
        _ => None,
    })
}

pub fn required<'a>(block: &'a ItemImpl, name: &str, shape: &str) -> syn::Result<&'a ImplItemFn> {
    method(block, name).ok_or_else(|| {
        syn::Error::new_spanned(&block.self_ty, format!("this impl needs `{shape}`"))
    })
}

/// The SQL name: `name = "…"`, or the self type's name in snake case.
pub fn sql_name(block: &ItemImpl, name: Option<String>) -> syn::Result<(String, Ident)> {
    let name = match name {
        Some(name) => name,
        None => {
            let Type::Path(path) = &*block.self_ty else {
                return Err(syn::Error::new_spanned(
                    &block.self_ty,
                    "implement a named type, or give name = \"…\"",
                ));
            };
            let Some(last) = path.path.segments.last() else {
                return Err(syn::Error::new_spanned(&block.self_ty, "an empty path"));
            };
            snake_case(&last.ident.to_string())
        }
    };
    let ident = syn::parse_str::<Ident>(&name).map_err(|_| {
        syn::Error::new(
            Span::call_site(),
            format!("\"{name}\" is not a Rust identifier, so export! cannot name it"),
        )
    })?;
    Ok((name, ident))
}

/// The `impl Type { … }` block `#[rustydb::attribute]` is on: inherent and
/// not generic, so the generated code can name the type.
pub fn plain_impl(item: TokenStream2, attribute: &str, example: &str) -> syn::Result<ItemImpl> {
    let block: ItemImpl = syn::parse2(item)?;
    if block.trait_.is_some() || !block.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &block.self_ty,
            format!(
                "put #[rustydb::{attribute}] on a plain `impl {example} {{ … }}` of a non-generic type"
            ),
        ));
    }
    Ok(block)
}

pub fn expand(attr: TokenStream2, item: TokenStream2) -> syn::Result<TokenStream2> {
    let block = plain_impl(item, "aggregate", "State")?;
    let options = options::parse(
        attr,
        Accepts {
            function: true,
            name: true,
            state: true,
            ..Accepts::default()
        },
    )?;
    let accumulate = required(&block, "accumulate", "fn accumulate(&mut self, args…)")?;
    required(&block, "merge", "fn merge(&mut self, other: Self)")?;
    let finish = required(&block, "finish", "fn finish(self) -> Result")?;
    let (names, types) = typed_args(&accumulate.sig, true)?;
    let ReturnType::Type(_, result) = &finish.sig.output else {
        return Err(syn::Error::new_spanned(
            &finish.sig,
            "`finish` returns the aggregate's value",
        ));
    };
    let (sql_name, ident) = sql_name(&block, options.name.clone())?;
    let p = quote!(::rustydb::__private);
    let a = quote!(#p::aggregate);
    let (decode, encode) = if options.bytes_state {
        (quote!(#a::bytes_decode), quote!(#a::bytes_encode))
    } else {
        (quote!(#a::serde_decode), quote!(#a::serde_encode))
    };
    let init = if method(&block, "init").is_some() {
        quote!(__State::init())
    } else {
        quote!(<__State as ::core::default::Default>::default())
    };
    let self_ty = &block.self_ty;
    let konst = routine_const(&ident);
    let row = Ident::new("__row", Span::call_site());
    let bind = bind_args(&sql_name, &row, &names, &types);
    let params = params(&names, &types);
    let volatility = &options.volatility;
    let strict = options.strict;
    let v = quote!(::rustydb::Value);
    let e = quote!(::rustydb::SqlError);
    let r = quote!(::core::result::Result);
    let vec = quote!(::std::vec::Vec);

    Ok(quote! {
        #block

        #[doc(hidden)]
        #[allow(non_upper_case_globals)]
        pub const #konst: #p::Routine = {
            type __State = #self_ty;
            fn __init() -> #r<#vec<u8>, #e> {
                #encode::<__State>(#init)
            }
            fn __accumulate(state: #vec<u8>, rows: #vec<#vec<#v>>) -> #r<#vec<u8>, #e> {
                let mut __state: __State = #decode(state)?;
                for #row in rows {
                    // STRICT: a row with a NULL argument leaves the state alone.
                    if #strict && #p::has_null(&#row) {
                        continue;
                    }
                    #bind
                    #a::StepReturn::into_step(__state.accumulate(#(#names),*))?;
                }
                #encode::<__State>(__state)
            }
            fn __merge(left: #vec<u8>, right: #vec<u8>) -> #r<#vec<u8>, #e> {
                let mut __left: __State = #decode(left)?;
                let __right: __State = #decode(right)?;
                #a::StepReturn::into_step(__left.merge(__right))?;
                #encode::<__State>(__left)
            }
            fn __finish(state: #vec<u8>) -> #r<#v, #e> {
                let __state: __State = #decode(state)?;
                #p::ScalarReturn::into_result(__state.finish())
            }
            #p::Routine {
                name: #sql_name,
                params: #params,
                returns: &[("", #p::return_type::<#result>())],
                volatility: #p::Vol::#volatility,
                strict: #strict,
                call: #p::Call::Aggregate(#a::AggregateEntry {
                    init: __init,
                    accumulate: __accumulate,
                    merge: __merge,
                    finish: __finish,
                }),
            }
        };
    })
}
