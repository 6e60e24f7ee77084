//! `#[rustydb::table_function]` and `#[derive(rustydb::TableRow)]`.

use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::quote;
use syn::{
    Data, DeriveInput, Fields, GenericArgument, Ident, ItemFn, PathArguments, ReturnType, Type,
    TypeParamBound,
};

use crate::options::{self, Accepts};
use crate::sig::{bind_args, params, routine_const, typed_args};

const SHAPES: &str = "a table function returns Vec<Row>, impl Iterator<Item = Row>, \
                      or a Result<_, SqlError> of either";

/// The first type argument of `ty` if its last path segment is `name`.
fn generic_arg<'a>(ty: &'a Type, name: &str) -> Option<&'a Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != name {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    args.args.iter().find_map(|a| match a {
        GenericArgument::Type(t) => Some(t),
        _ => None,
    })
}

/// `Item = Row` of `impl Iterator<Item = Row>` / `impl IntoIterator<…>`.
fn iterator_item(ty: &Type) -> Option<&Type> {
    let Type::ImplTrait(it) = ty else { return None };
    it.bounds.iter().find_map(|b| {
        let TypeParamBound::Trait(t) = b else {
            return None;
        };
        let last = t.path.segments.last()?;
        if last.ident != "Iterator" && last.ident != "IntoIterator" {
            return None;
        }
        let PathArguments::AngleBracketed(args) = &last.arguments else {
            return None;
        };
        args.args.iter().find_map(|a| match a {
            GenericArgument::AssocType(at) if at.ident == "Item" => Some(&at.ty),
            _ => None,
        })
    })
}

/// The row type of a table function's return type, and whether the body
/// returns a `Result`.
fn row_type(output: &ReturnType) -> syn::Result<(Type, bool)> {
    let ReturnType::Type(_, ty) = output else {
        return Err(syn::Error::new_spanned(output, SHAPES));
    };
    let (inner, is_result) = match generic_arg(ty, "Result") {
        Some(inner) => (inner, true),
        None => (&**ty, false),
    };
    generic_arg(inner, "Vec")
        .or_else(|| iterator_item(inner))
        .map(|row| (row.clone(), is_result))
        .ok_or_else(|| syn::Error::new_spanned(ty, SHAPES))
}

pub fn expand(attr: TokenStream2, item: TokenStream2) -> syn::Result<TokenStream2> {
    let func: ItemFn = syn::parse2(item)?;
    let options = options::parse(
        attr,
        Accepts {
            function: true,
            columns: true,
            ..Accepts::default()
        },
    )?;
    let (arg_names, arg_types) = typed_args(&func.sig, false)?;
    let (row_ty, is_result) = row_type(&func.sig.output)?;
    let name = &func.sig.ident;
    let sql_name = name.to_string();
    let p = quote!(::rustydb::__private);
    let t = quote!(#p::table);
    let (returns, check) = match &options.columns {
        Some(columns) => {
            let names: Vec<String> = columns.iter().map(Ident::to_string).collect();
            let indexes = 0..names.len();
            let count = names.len();
            (
                quote!(&[#((#names, #t::column_type::<#row_ty>(#indexes))),*]),
                quote! {
                    const _: () = ::core::assert!(
                        #t::column_count::<#row_ty>() == #count,
                        "columns(…) must name every column of the row, no more"
                    );
                },
            )
        }
        None if matches!(row_ty, Type::Tuple(_)) => {
            return Err(syn::Error::new_spanned(
                &row_ty,
                "name the tuple's columns: #[rustydb::table_function(columns(a, b))]",
            ));
        }
        None => (quote!(<#row_ty as #t::TableRow>::COLUMNS), quote!()),
    };
    let call = quote!(#name(#(#arg_names),*));
    let body = if is_result {
        call
    } else {
        quote!(::core::result::Result::Ok(#call))
    };
    let konst = routine_const(name);
    let vis = &func.vis;
    let row = Ident::new("__row", Span::call_site());
    let bind = bind_args(&sql_name, &row, &arg_names, &arg_types);
    let params = params(&arg_names, &arg_types);
    let volatility = &options.volatility;
    let strict = options.strict;

    Ok(quote! {
        #func

        #[doc(hidden)]
        #[allow(non_upper_case_globals)]
        #vis const #konst: #p::Routine = {
            #check
            fn __rustydb_entry(
                #row: ::std::vec::Vec<::rustydb::Value>,
            ) -> ::core::result::Result<
                ::std::vec::Vec<::std::vec::Vec<::rustydb::Value>>,
                ::rustydb::SqlError,
            > {
                #bind
                #t::table_rows::<_, #row_ty>(#body)
            }
            #p::Routine {
                name: #sql_name,
                params: #params,
                returns: #returns,
                volatility: #p::Vol::#volatility,
                strict: #strict,
                call: #p::Call::Table(__rustydb_entry),
            }
        };
    })
}

pub fn derive_row(item: TokenStream2) -> syn::Result<TokenStream2> {
    let input: DeriveInput = syn::parse2(item)?;
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "TableRow is derived for structs with named fields",
        ));
    };
    let Fields::Named(fields) = &data.fields else {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "TableRow is derived for structs with named fields",
        ));
    };
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &input.generics,
            "a TableRow cannot be generic",
        ));
    }
    let idents: Vec<&Ident> = fields
        .named
        .iter()
        .filter_map(|f| f.ident.as_ref())
        .collect();
    let names: Vec<String> = idents.iter().map(|i| i.to_string()).collect();
    let types: Vec<&Type> = fields.named.iter().map(|f| &f.ty).collect();
    let ident = &input.ident;
    Ok(quote! {
        impl ::rustydb::TableRow for #ident {
            const COLUMNS: &'static [(&'static str, ::rustydb::DataType)] =
                &[#((#names, <#types as ::rustydb::SqlType>::DATA_TYPE)),*];
            fn into_row(self) -> ::std::vec::Vec<::rustydb::Value> {
                ::std::vec![#(::rustydb::IntoValue::into_value(self.#idents)),*]
            }
        }
    })
}
