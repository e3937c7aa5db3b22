//! Replays the committed Wycheproof vectors (tests/vectors/wycheproof) against the wrappers.

use serde_json::Value;

use super::aead;
use super::ed25519::{Signature, VerifyingKey};
use super::x25519::{X25519Public, X25519Secret};
use crate::Error;

fn load(name: &str) -> Value {
    let path = format!(
        "{}/tests/vectors/wycheproof/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn field(test: &Value, name: &str) -> Vec<u8> {
    hex::decode(test[name].as_str().unwrap()).unwrap()
}

/// Every test of every group, with the group alongside.
fn tests(file: &Value) -> Vec<(&Value, &Value)> {
    file["testGroups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|group| {
            group["tests"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |test| (group, test))
        })
        .collect()
}

#[test]
fn x25519() {
    let file = load("x25519_test.json");
    let mut checked = 0;
    for (_, test) in tests(&file) {
        let id = &test["tcId"];
        let private: [u8; 32] = field(test, "private").try_into().unwrap();
        let public: [u8; 32] = field(test, "public").try_into().unwrap();
        let shared = field(test, "shared");
        let result = X25519Secret::from_bytes(&private).diffie_hellman(&X25519Public(public));
        if shared.iter().all(|&byte| byte == 0) {
            // Low-order public keys: the wrapper must refuse, never return zeros.
            assert_eq!(result.err(), Some(Error::LowOrderPublicKey), "tcId {id}");
        } else {
            assert_eq!(&result.unwrap().as_bytes()[..], &shared[..], "tcId {id}");
        }
        checked += 1;
    }
    assert_eq!(checked, file["numberOfTests"].as_u64().unwrap());
}

#[test]
fn ed25519() {
    let file = load("ed25519_test.json");
    let mut checked = 0;
    for (group, test) in tests(&file) {
        let id = &test["tcId"];
        let public: [u8; 32] = field(&group["publicKey"], "pk").try_into().unwrap();
        let message = field(test, "msg");
        let signature = field(test, "sig");
        let verified = VerifyingKey::from_bytes(&public).and_then(|key| {
            let signature: [u8; 64] = signature.try_into().map_err(|_| Error::InvalidSignature)?;
            key.verify(&message, &Signature::from_bytes(&signature))
        });
        match test["result"].as_str().unwrap() {
            "valid" => assert!(verified.is_ok(), "tcId {id}"),
            _ => assert!(verified.is_err(), "tcId {id}"),
        }
        checked += 1;
    }
    assert_eq!(checked, file["numberOfTests"].as_u64().unwrap());
}

#[test]
fn xchacha20_poly1305() {
    let file = load("xchacha20_poly1305_test.json");
    let mut checked = 0;
    for (_, test) in tests(&file) {
        let id = &test["tcId"];
        let key: [u8; 32] = field(test, "key").try_into().unwrap();
        let (aad, msg) = (field(test, "aad"), field(test, "msg"));
        let mut sealed = field(test, "ct");
        sealed.extend_from_slice(&field(test, "tag"));
        let valid = test["result"] == "valid";
        let Ok(nonce) = <[u8; 24]>::try_from(field(test, "iv")) else {
            // The wrapper's type admits only 24-byte nonces: other sizes cannot be expressed.
            assert!(!valid, "tcId {id}");
            checked += 1;
            continue;
        };
        let opened = aead::open(&key, &nonce, &aad, &sealed);
        // The in-place form, as the ratchet uses it, must agree on every vector.
        let mut in_place = field(test, "ct");
        let opened_in_place = <[u8; aead::AEAD_TAG_LEN]>::try_from(field(test, "tag"))
            .map_err(|_| Error::AuthenticationFailed)
            .and_then(|tag| aead::open_in_place(&key, &nonce, &aad, &mut in_place, &tag));
        assert_eq!(opened_in_place.is_ok(), valid, "tcId {id}");
        if valid {
            assert_eq!(in_place, msg, "tcId {id}");
            let mut buffer = msg.clone();
            let tag = aead::seal_in_place(&key, &nonce, &aad, &mut buffer).unwrap();
            assert_eq!([&buffer[..], &tag[..]].concat(), sealed, "tcId {id}");
            assert_eq!(
                aead::seal(&key, &nonce, &aad, &msg).unwrap(),
                sealed,
                "tcId {id}"
            );
            assert_eq!(&opened.unwrap()[..], &msg[..], "tcId {id}");
        } else {
            assert_eq!(opened.err(), Some(Error::AuthenticationFailed), "tcId {id}");
        }
        checked += 1;
    }
    assert_eq!(checked, file["numberOfTests"].as_u64().unwrap());
}
