//! `#[rustydb::model]` on the `impl` block of a model type.

use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::quote;
use syn::{Ident, ReturnType};

use crate::aggregate::{plain_impl, required, sql_name};
use crate::options::{self, Accepts};
use crate::sig::{bind_args, params, routine_const, typed_args};

pub fn expand(attr: TokenStream2, item: TokenStream2) -> syn::Result<TokenStream2> {
    let block = plain_impl(item, "model", "Model")?;
    let options = options::parse(
        attr,
        Accepts {
            function: true,
            name: true,
            ..Accepts::default()
        },
    )?;
    let load = required(
        &block,
        "load",
        "fn load(params: &[u8]) -> Result<Self, SqlError>",
    )?;
    if load.sig.inputs.len() != 1 {
        return Err(syn::Error::new_spanned(
            &load.sig,
            "`load` takes the parameter bytes: fn load(params: &[u8]) -> Result<Self, SqlError>",
        ));
    }
    let score = required(&block, "score", "fn score(&self, features…) -> value")?;
    let (names, types) = typed_args(&score.sig, true)?;
    let ReturnType::Type(_, result) = &score.sig.output else {
        return Err(syn::Error::new_spanned(
            &score.sig,
            "`score` returns the prediction",
        ));
    };
    let (sql_name, ident) = sql_name(&block, options.name.clone())?;
    let p = quote!(::rustydb::__private);
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
    let any = quote!(dyn ::core::any::Any);

    Ok(quote! {
        #block

        #[doc(hidden)]
        #[allow(non_upper_case_globals)]
        pub const #konst: #p::Routine = {
            type __Model = #self_ty;
            fn __load(params: &[u8]) -> #r<::std::boxed::Box<#any>, #e> {
                let model: __Model = __Model::load(params)?;
                #r::Ok(::std::boxed::Box::new(model))
            }
            fn __score(model: &#any, batch: #vec<#vec<#v>>) -> #r<#vec<#v>, #e> {
                let model = #p::model::downcast::<__Model>(model)?;
                batch
                    .into_iter()
                    .map(|#row| {
                        if #strict && #p::has_null(&#row) {
                            return #r::Ok(#v::Null);
                        }
                        #bind
                        #p::ScalarReturn::into_result(model.score(#(#names),*))
                    })
                    .collect()
            }
            #p::Routine {
                name: #sql_name,
                params: #params,
                returns: &[("", #p::return_type::<#result>())],
                volatility: #p::Vol::#volatility,
                strict: #strict,
                call: #p::Call::Model(#p::model::ModelEntry {
                    load: __load,
                    score: __score,
                }),
            }
        };
    })
}
