//! `#[rustydb::trigger]`.

use proc_macro2::TokenStream as TokenStream2;
use quote::quote;
use syn::ItemFn;

use crate::sig::routine_const;

pub fn expand(attr: TokenStream2, item: TokenStream2) -> syn::Result<TokenStream2> {
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
                returns: &[],
                volatility: #p::Vol::Volatile,
                strict: false,
                call: #p::Call::Trigger(__rustydb_entry),
            }
        };
    })
}
