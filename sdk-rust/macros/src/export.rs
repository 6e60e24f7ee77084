//! `rustydb::export!`: the module's routine table and its WIT exports.

use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::quote;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Path, Token};

use crate::sig::routine_const;

pub fn expand(input: TokenStream2) -> syn::Result<TokenStream2> {
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
            impl #p::ColumnarGuest for __RustydbModule {
                fn call_columns(
                    name: #s,
                    rows: u32,
                    args: #vec<#p::ValueColumn>,
                ) -> #r<#p::ValueColumn, #e> {
                    #p::columnar::call_columns(__ROUTINES, &name, rows, args)
                }
            }
            impl #p::AggregateGuest for __RustydbModule {
                fn init(name: #s) -> #r<#vec<u8>, #e> {
                    #p::aggregate::init(__ROUTINES, &name)
                }
                fn accumulate(name: #s, state: #vec<u8>, rows: #vec<#vec<#v>>) -> #r<#vec<u8>, #e> {
                    #p::aggregate::accumulate(__ROUTINES, &name, state, rows)
                }
                fn merge(name: #s, left: #vec<u8>, right: #vec<u8>) -> #r<#vec<u8>, #e> {
                    #p::aggregate::merge(__ROUTINES, &name, left, right)
                }
                fn finish(name: #s, state: #vec<u8>) -> #r<#v, #e> {
                    #p::aggregate::finish(__ROUTINES, &name, state)
                }
            }
            impl #p::TableGuest for __RustydbModule {
                fn call_table(name: #s, args: #vec<#v>) -> #r<#vec<#vec<#v>>, #e> {
                    #p::call_table(__ROUTINES, &name, args)
                }
            }
            impl #p::TriggerGuest for __RustydbModule {
                fn call_trigger(name: #s, data: #p::TriggerData) -> #r<#p::TriggerResult, #e> {
                    #p::call_trigger(__ROUTINES, &name, data)
                }
            }
            impl #p::TriggerRowsGuest for __RustydbModule {
                fn call_trigger_rows(
                    name: #s,
                    data: #p::TriggerData,
                    events: #vec<#p::RowEvent>,
                ) -> #r<(), #e> {
                    #p::call_trigger_rows(__ROUTINES, &name, data, events)
                }
            }
            impl #p::ModelGuest for __RustydbModule {
                fn load(name: #s, params: #vec<u8>) -> #r<(), #e> {
                    #p::model::load(__ROUTINES, &name, params)
                }
                fn score(name: #s, batch: #vec<#vec<#v>>) -> #r<#vec<#v>, #e> {
                    #p::model::score(__ROUTINES, &name, batch)
                }
            }

            #p::__export_extension!(__RustydbModule with_types_in ::rustydb::__private::bindings);
        };
    })
}
