//! Arbitrary bytes from a client, decoded the way the server decodes them.
//!
//! The server reads every connection through pgwire's codec, moving its
//! decode context along as the connection does: SSL negotiation, then the
//! start-up packet (or a cancel request), then password/SASL and query
//! messages. This target replays that walk over a fuzzed byte stream,
//! starting in any of the three states, and asserts what the server relies
//! on:
//!
//! - a panic in pgwire's decoders stays contained: the server catches it
//!   and closes only that connection with 08P01 (`src/server/listener.rs`;
//!   a length field below 4 makes pgwire read past the frame, found here);
//! - a decoded message always consumed input, so the read loop progresses;
//! - a decoded message encodes back to bytes that decode to the same bytes
//!   again (nothing is silently altered between what a client sent and what
//!   the server acts on);
//! - the password-family message, whose meaning depends on the
//!   authentication state, converts to each of its forms, or panics inside
//!   pgwire's message handling, which the server also contains.
#![no_main]

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use pgwire::messages::startup::PasswordMessageFamily;
use pgwire::messages::{DecodeContext, PgWireFrontendMessage, SslNegotiationMetaMessage};

thread_local! {
    static DECODING: Cell<bool> = const { Cell::new(false) };
}

/// libFuzzer's panic hook aborts, which is right for every panic but the
/// ones the server itself catches around pgwire's decoder.
fn contain_decoder_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let fuzzer_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !DECODING.with(Cell::get) {
                fuzzer_hook(info);
            }
        }));
    });
}

/// Runs `f` as the server runs pgwire's decoding and message handling:
/// `None` when it panicked, which ends the connection with 08P01.
fn contained<T>(f: impl FnOnce() -> T) -> Option<T> {
    DECODING.with(|d| d.set(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    DECODING.with(|d| d.set(false));
    result.ok()
}

fuzz_target!(|data: &[u8]| {
    contain_decoder_panics();
    let Some((&state, stream)) = data.split_first() else {
        return;
    };
    let mut ctx = DecodeContext::default();
    match state % 3 {
        0 => {}
        1 => ctx.awaiting_frontend_ssl = false,
        _ => {
            ctx.awaiting_frontend_ssl = false;
            ctx.awaiting_frontend_startup = false;
        }
    }
    let mut buf = BytesMut::from(stream);
    // Each message consumes at least one byte, so this bounds the loop even
    // if a decoder ever stopped making progress.
    for _ in 0..=stream.len() {
        let before = buf.len();
        let message = match contained(|| PgWireFrontendMessage::decode(&mut buf, &ctx)) {
            Some(Ok(Some(message))) => message,
            // Needs more bytes, or the server answers FATAL and closes.
            Some(Ok(None) | Err(_)) | None => return,
        };
        match &message {
            // Only peeks at the magic number: the next round decodes the
            // start-up or cancel packet itself.
            PgWireFrontendMessage::SslNegotiation(SslNegotiationMetaMessage::None) => {
                ctx.awaiting_frontend_ssl = false;
                continue;
            }
            PgWireFrontendMessage::SslNegotiation(_) => ctx.awaiting_frontend_ssl = false,
            PgWireFrontendMessage::Startup(_) => ctx.awaiting_frontend_startup = false,
            PgWireFrontendMessage::CancelRequest(_) => return,
            _ => {}
        }
        let consumed = before - buf.len();
        assert!(consumed > 0, "decoded {message:?} without consuming input");
        let raw = &stream[stream.len() - before..stream.len() - before + consumed];
        if let PgWireFrontendMessage::PasswordMessageFamily(_) = message {
            password_forms(raw, &ctx);
        }
        assert_reencodes(&message, &ctx);
        if matches!(message, PgWireFrontendMessage::Terminate(_)) {
            return;
        }
    }
});

/// Decodes the same password-family bytes as each form the authentication
/// state may ask for; each may fail, none may panic.
fn password_forms(raw: &[u8], ctx: &DecodeContext) {
    let decode = || match PgWireFrontendMessage::decode(&mut BytesMut::from(raw), ctx) {
        Ok(Some(PgWireFrontendMessage::PasswordMessageFamily(family))) => family,
        other => panic!("password message did not decode twice alike: {other:?}"),
    };
    // The authentication step converts it inside pgwire's message handling.
    let _ = contained(|| decode().into_password());
    let _ = contained(|| decode().into_sasl_initial_response());
    let _ = contained(|| decode().into_sasl_response());
    let _: PasswordMessageFamily = decode();
}

/// Encoding a decoded message and decoding that again is a fixed point.
fn assert_reencodes(message: &PgWireFrontendMessage, ctx: &DecodeContext) {
    let mut first = BytesMut::new();
    if message.encode(&mut first).is_err() {
        return;
    }
    // Start-up and SSL packets are decoded in the state before the one the
    // message moves the connection to.
    let mut before = DecodeContext::new(ctx.protocol_version);
    before.awaiting_frontend_ssl =
        ctx.awaiting_frontend_ssl || matches!(message, PgWireFrontendMessage::SslNegotiation(_));
    before.awaiting_frontend_startup =
        ctx.awaiting_frontend_startup || matches!(message, PgWireFrontendMessage::Startup(_));
    let mut input = first.clone();
    let again = match PgWireFrontendMessage::decode(&mut input, &before) {
        Ok(Some(again)) => again,
        other => panic!("{message:?} encoded to bytes that do not decode: {other:?}"),
    };
    assert!(
        input.is_empty(),
        "{message:?} re-decoded with bytes left over"
    );
    let mut second = BytesMut::new();
    again
        .encode(&mut second)
        .expect("a decoded message encodes");
    assert_eq!(first, second, "{message:?} changed across a round trip");
}
