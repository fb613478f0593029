//! Grant signatures checked by the runtime's own Ed25519 (`WebCrypto`) instead of the wasm one.
//!
//! `bench/crypto` measured a grant's Ed25519 check at about 230 µs of CPU in wasm and 50 µs
//! through `WebCrypto`, the largest single cost of a read that the Worker itself computes
//! (docs/benchmarks.md). The core decides synchronously and `WebCrypto` answers asynchronously, so
//! a decision takes two passes: the first, with a check that answers no, only collects the
//! signatures the core wants checked (it stops at the first thing it cannot vouch for, before
//! any `SigV4` signing); the runtime checks those; the second pass decides with exactly those
//! answers. A signature not among them is not genuine, so nothing is accepted that the runtime
//! did not verify, byte for byte. A request that needs no signature (refused before its grants
//! are looked at) is decided by the first pass alone; so is one whose signatures this isolate's
//! runtime has already found genuine (a page reads many objects with one grant): the first pass
//! answers yes for exactly those, remembered by a digest of key, message and signature.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use worker::js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array, global};
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;

use crate::acl::Caller;
use crate::grant::{Ed25519, SignatureCheck, Signed};
use crate::{Decision, Gatekeeper};

/// Decides `request` as [`Gatekeeper::decide`] does, with the grants' signatures checked by the
/// runtime.
pub(super) async fn decide(
    gatekeeper: &Gatekeeper,
    request: &http::Request<()>,
    caller: &Caller,
    now: SystemTime,
) -> Decision {
    let wanted = Wanted::default();
    let first = gatekeeper.decide_with(request, caller, now, &wanted);
    let wanted = wanted.0.into_inner();
    if wanted.is_empty() {
        return first;
    }
    let mut genuine = Vec::with_capacity(wanted.len());
    for signed in wanted {
        if verify(&signed).await {
            VERIFIED.with(|v| v.borrow_mut().remember(&signed));
            genuine.push(signed);
        }
    }
    gatekeeper.decide_with(request, caller, now, &Genuine(genuine))
}

/// How many verified signatures an isolate remembers.
const REMEMBERED: usize = 64;

thread_local! {
    /// Signatures this isolate's runtime verified, newest last: a page reads many objects with
    /// one grant, and Ed25519 gives the same answer for the same key, message and signature, so
    /// a grant seen again is not checked again. Only signatures found genuine are kept, by a
    /// digest of all three, so nothing passes that the runtime did not verify; the claims are
    /// checked anew on every request (time, key, operation, ACL).
    static VERIFIED: RefCell<Verified> = const { RefCell::new(Verified(Vec::new())) };
}

/// The remembered signatures, oldest first, each by its [`Fingerprint`].
struct Verified(Vec<Fingerprint>);

impl Verified {
    fn knows(&self, print: &Fingerprint) -> bool {
        self.0.contains(print)
    }

    fn remember(&mut self, signed: &Owned) {
        let print = signed.print.clone();
        if self.0.contains(&print) {
            return;
        }
        if self.0.len() == REMEMBERED {
            self.0.remove(0);
        }
        self.0.push(print);
    }
}

/// The SHA-256 of a key, a message and a signature, each with its length. A remembered grant is
/// a bearer credential: compared as itself, byte by byte, the time a comparison takes would tell
/// a caller how much of a guessed signature matches one the isolate holds. Compared as a digest,
/// a guess that differs anywhere matches nothing, and how far it matched says nothing about the
/// signature.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Fingerprint([u8; 32]);

impl Fingerprint {
    fn of(signed: &Signed<'_>) -> Self {
        let mut hash = Sha256::new();
        for part in [&signed.key[..], signed.message, &signed.signature[..]] {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part);
        }
        Self(hash.finalize().into())
    }
}

/// A signature the core asked about, owned, with its fingerprint (computed once: it is looked
/// up, then remembered).
#[derive(Debug, PartialEq, Eq)]
struct Owned {
    key: [u8; 32],
    message: Vec<u8>,
    signature: [u8; 64],
    print: Fingerprint,
}

impl Owned {
    fn new(signed: &Signed<'_>, print: Fingerprint) -> Self {
        Self {
            key: *signed.key,
            message: signed.message.to_vec(),
            signature: *signed.signature,
            print,
        }
    }

    fn signed(&self) -> Signed<'_> {
        Signed {
            key: &self.key,
            message: &self.message,
            signature: &self.signature,
        }
    }
}

/// The first pass's check: yes for a signature remembered as verified; any other it records, and
/// answers no.
#[derive(Default)]
struct Wanted(RefCell<Vec<Owned>>);

impl SignatureCheck for Wanted {
    fn verifies(&self, signed: &Signed<'_>) -> bool {
        let print = Fingerprint::of(signed);
        if VERIFIED.with(|v| v.borrow().knows(&print)) {
            return true;
        }
        self.0.borrow_mut().push(Owned::new(signed, print));
        false
    }
}

/// The second pass's check: yes for exactly the signatures the runtime verified (for this request,
/// or remembered).
struct Genuine(Vec<Owned>);

impl SignatureCheck for Genuine {
    fn verifies(&self, signed: &Signed<'_>) -> bool {
        self.0.iter().any(|genuine| genuine.signed() == *signed)
            || VERIFIED.with(|v| v.borrow().knows(&Fingerprint::of(signed)))
    }
}

/// Whether `signed` is genuine, by `WebCrypto`; by the core's own Ed25519 if the runtime cannot
/// tell (no Ed25519 in its `WebCrypto`, or any other failure of the call), never by default.
async fn verify(signed: &Owned) -> bool {
    match webcrypto(signed).await {
        Ok(answer) => answer,
        Err(_) => Ed25519.verifies(&signed.signed()),
    }
}

thread_local! {
    /// Imported keys, by their bytes: importing costs about as much as a check. Only trusted keys
    /// are ever asked about (the core picks the key by the grant's `kid` among its own), so this
    /// holds at most the configured keys.
    static KEYS: RefCell<Vec<([u8; 32], JsValue)>> = const { RefCell::new(Vec::new()) };
    /// `crypto.subtle`, its two methods and the algorithm's name object: the same for every
    /// check, so looked up once per isolate rather than on every request.
    static SUBTLE: RefCell<Option<Rc<Subtle>>> = const { RefCell::new(None) };
}

/// What a check calls on the runtime's `WebCrypto`.
struct Subtle {
    /// `crypto.subtle`, the receiver of both methods.
    this: JsValue,
    import_key: Function,
    verify: Function,
    algorithm: Object,
}

impl Subtle {
    fn get() -> Result<Rc<Self>, JsValue> {
        if let Some(subtle) = SUBTLE.with(|s| s.borrow().clone()) {
            return Ok(subtle);
        }
        let subtle = Reflect::get(
            &Reflect::get(&global(), &"crypto".into())?,
            &"subtle".into(),
        )?;
        let algorithm = Object::new();
        Reflect::set(&algorithm, &"name".into(), &"Ed25519".into())?;
        let loaded = Rc::new(Self {
            import_key: Reflect::get(&subtle, &"importKey".into())?.dyn_into()?,
            verify: Reflect::get(&subtle, &"verify".into())?.dyn_into()?,
            this: subtle,
            algorithm,
        });
        SUBTLE.with(|s| *s.borrow_mut() = Some(loaded.clone()));
        Ok(loaded)
    }

    /// Calls `subtle[function](...args)` and awaits its promise.
    async fn call(&self, function: &Function, args: &Array) -> Result<JsValue, JsValue> {
        let promise: Promise = function.apply(&self.this, args)?.dyn_into()?;
        JsFuture::from(promise).await
    }
}

/// Checks `signed` with `crypto.subtle.verify("Ed25519", …)`.
async fn webcrypto(signed: &Owned) -> Result<bool, JsValue> {
    let subtle = Subtle::get()?;
    let cached = KEYS.with(|keys| {
        keys.borrow()
            .iter()
            .find(|(bytes, _)| *bytes == signed.key)
            .map(|(_, key)| key.clone())
    });
    let key = if let Some(key) = cached {
        key
    } else {
        let args = Array::of5(
            &"raw".into(),
            &Uint8Array::from(&signed.key[..]),
            &subtle.algorithm,
            &false.into(),
            &Array::of1(&"verify".into()),
        );
        let key = subtle.call(&subtle.import_key, &args).await?;
        KEYS.with(|keys| keys.borrow_mut().push((signed.key, key.clone())));
        key
    };
    let args = Array::of4(
        &subtle.algorithm,
        &key,
        &Uint8Array::from(&signed.signature[..]),
        &Uint8Array::from(&signed.message[..]),
    );
    subtle
        .call(&subtle.verify, &args)
        .await?
        .as_bool()
        .ok_or(JsValue::NULL)
}
