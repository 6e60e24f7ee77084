//! `#[rustydb::procedure]` and `#[rustydb::function]`.

use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::quote;
use syn::{Ident, ItemFn, ReturnType};

use crate::columnar;
use crate::options::{self, Accepts};
use crate::sig::{bind_args, params, routine_const, typed_args};

#[derive(Clone, Copy, PartialEq)]
pub enum Kind {
    Procedure,
    Function,
}

pub fn expand(kind: Kind, attr: TokenStream2, item: TokenStream2) -> syn::Result<TokenStream2> {
    let func: ItemFn = syn::parse2(item)?;
    let accepts = Accepts {
        function: kind == Kind::Function,
        ..Accepts::default()
    };
    let options = options::parse(attr, accepts)?;
    let (arg_names, arg_types) = typed_args(&func.sig, false)?;
    let name = &func.sig.ident;
    let sql_name = name.to_string();
    let p = quote!(::rustydb::__private);

    let (result_ty, convert, returns, call, scalar_ret) = match kind {
        Kind::Procedure => (
            quote!(::rustydb::Rows),
            quote!(#p::ProcedureReturn::into_rows),
            quote!(&[]),
            quote!(#p::Call::Procedure),
            None,
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
                quote!(&[("", #p::return_type::<#ret>())]),
                quote!(#p::Call::Scalar),
                Some(ret.as_ref().clone()),
            )
        }
    };
    let konst = routine_const(name);
    let vis = &func.vis;
    let entry = Ident::new("__rustydb_entry", Span::call_site());
    let row = Ident::new("__row", Span::call_site());
    let bind = bind_args(&sql_name, &row, &arg_names, &arg_types);
    let params = params(&arg_names, &arg_types);
    let volatility = &options.volatility;
    let strict = options.strict;
    let call = match &scalar_ret {
        Some(ret) => {
            let columns = columnar::entry(name, &arg_types, ret, strict);
            quote!(#call(#p::ScalarEntry { row: #entry, columns: #columns }))
        }
        None => quote!(#call(#entry)),
    };

    Ok(quote! {
        #func

        #[doc(hidden)]
        #[allow(non_upper_case_globals)]
        #vis const #konst: #p::Routine = {
            fn #entry(
                #row: ::std::vec::Vec<::rustydb::Value>,
            ) -> ::core::result::Result<#result_ty, ::rustydb::SqlError> {
                #bind
                #convert(#name(#(#arg_names),*))
            }
            #p::Routine {
                name: #sql_name,
                params: #params,
                returns: #returns,
                volatility: #p::Vol::#volatility,
                strict: #strict,
                call: #call,
            }
        };
    })
}
