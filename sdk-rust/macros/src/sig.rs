//! Reading routine signatures: argument names and types, and the names of
//! the hidden items the attributes generate.

use proc_macro2::TokenStream as TokenStream2;
use quote::{format_ident, quote};
use syn::{FnArg, Ident, Pat, Signature, Type};

/// The hidden `const` describing routine `name`, which `export!` gathers.
pub fn routine_const(name: &Ident) -> Ident {
    format_ident!("__rustydb_routine_{}", name)
}

/// `MedianInt8` → `median_int8`: the SQL name of a type-based routine.
pub fn snake_case(name: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = name.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev_lower = i > 0 && (chars[i - 1].is_lowercase() || chars[i - 1].is_numeric());
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if i > 0 && (prev_lower || (next_lower && chars[i - 1].is_uppercase())) {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(*c);
        }
    }
    out
}

/// The SQL arguments of a routine: `(names, types)`, with the receiver
/// skipped when `receiver` says the method has one.
pub fn typed_args(sig: &Signature, receiver: bool) -> syn::Result<(Vec<Ident>, Vec<Type>)> {
    if let Some(generics) = sig.generics.params.first() {
        return Err(syn::Error::new_spanned(
            generics,
            "a routine cannot be generic",
        ));
    }
    let mut names = Vec::new();
    let mut types = Vec::new();
    let mut inputs = sig.inputs.iter();
    if receiver {
        match inputs.next() {
            Some(FnArg::Receiver(_)) => {}
            _ => {
                return Err(syn::Error::new_spanned(
                    sig,
                    format!("`{}` takes `self` first", sig.ident),
                ));
            }
        }
    }
    for input in inputs {
        let FnArg::Typed(pt) = input else {
            return Err(syn::Error::new_spanned(input, "a routine takes no `self`"));
        };
        let Pat::Ident(pi) = &*pt.pat else {
            return Err(syn::Error::new_spanned(
                &pt.pat,
                "name each argument with a plain identifier",
            ));
        };
        names.push(pi.ident.clone());
        types.push((*pt.ty).clone());
    }
    Ok((names, types))
}

/// Code converting one argument row (`row`, a `Vec<Value>`) into local
/// bindings named as the arguments, for routine `sql_name`.
pub fn bind_args(sql_name: &str, row: &Ident, names: &[Ident], types: &[Type]) -> TokenStream2 {
    let p = quote!(::rustydb::__private);
    let count = names.len();
    let sql_names: Vec<String> = names.iter().map(Ident::to_string).collect();
    quote! {
        #[allow(unused_mut)]
        let mut __args = #p::args(#row, #count, #sql_name)?;
        #(let #names: #types = #p::arg::<#types>(&mut __args, #sql_names)?;)*
    }
}

/// The `params` slice of a routine's description.
pub fn params(names: &[Ident], types: &[Type]) -> TokenStream2 {
    let p = quote!(::rustydb::__private);
    let sql_names: Vec<String> = names.iter().map(Ident::to_string).collect();
    quote!(&[#((#sql_names, #p::data_type::<#types>())),*])
}

#[cfg(test)]
mod tests {
    use super::snake_case;

    #[test]
    fn type_names_become_snake_case_sql_names() {
        assert_eq!(snake_case("Median"), "median");
        assert_eq!(snake_case("MedianInt8"), "median_int8");
        assert_eq!(snake_case("GBTModel"), "gbt_model");
        assert_eq!(snake_case("already_snake"), "already_snake");
    }
}
