//! Digest auth end to end: our client answers our server's challenges, and the server
//! rejects stale, replayed, forged and wrong answers with the right SIP status.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use switchboard::sip::auth::{
    authorization, ha1, AuthError, Challenge, Credentials, DigestAlgorithm, Verifier,
    VerifierConfig,
};

const REALM: &str = "pbx.example.com";
const URI: &str = "sip:pbx.example.com";

fn t(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
}

fn verifier() -> Verifier {
    Verifier::new(b"test secret".to_vec(), VerifierConfig::default())
}

/// A challenge issued at `at`, answered by alice with `password`, `nc`.
fn answer(
    v: &Verifier,
    at: SystemTime,
    alg: DigestAlgorithm,
    password: &str,
    nc: u32,
) -> Credentials {
    let c = v.challenge(REALM, alg, at, false);
    answer_to(&c, password, nc)
}

fn answer_to(c: &Challenge, password: &str, nc: u32) -> Credentials {
    let value = authorization(c, "alice", password, "REGISTER", URI, nc, "0a4f113b");
    Credentials::parse(&value).unwrap()
}

#[test]
fn challenges_offer_sha256_then_md5_with_qop_auth() {
    let v = verifier();
    let cs = v.challenges(REALM, t(0), false);
    assert_eq!(cs.len(), 2);
    assert!(
        cs[0].starts_with("Digest realm=\"pbx.example.com\", nonce=\""),
        "{}",
        cs[0]
    );
    assert!(cs[0].contains("algorithm=SHA-256") && cs[0].contains("qop=\"auth\""));
    assert!(cs[1].contains("algorithm=MD5"));
    assert!(!cs[0].contains("stale"));
    let stale = v.challenges(REALM, t(0), true);
    assert!(stale.iter().all(|c| c.ends_with(", stale=true")));
    // The client picks SHA-256 and the answer verifies.
    let c = Challenge::best(cs.iter().map(String::as_str)).unwrap();
    assert_eq!(c.algorithm, DigestAlgorithm::Sha256);
    assert_eq!(
        v.verify(&answer_to(&c, "s3cret", 1), "REGISTER", "s3cret", t(1)),
        Ok(())
    );
}

#[test]
fn round_trip_md5_and_sha256() {
    let v = verifier();
    for alg in [DigestAlgorithm::Sha256, DigestAlgorithm::Md5] {
        let cr = answer(&v, t(0), alg, "s3cret", 1);
        assert_eq!(cr.algorithm, alg);
        assert_eq!(v.verify(&cr, "REGISTER", "s3cret", t(10)), Ok(()));
    }
}

#[test]
fn method_is_part_of_the_digest() {
    let v = verifier();
    let cr = answer(&v, t(0), DigestAlgorithm::Sha256, "s3cret", 1);
    assert_eq!(
        v.verify(&cr, "INVITE", "s3cret", t(0)),
        Err(AuthError::WrongPassword)
    );
}

#[test]
fn wrong_password_is_403() {
    let v = verifier();
    let cr = answer(&v, t(0), DigestAlgorithm::Sha256, "guess", 1);
    let e = v.verify(&cr, "REGISTER", "s3cret", t(0)).unwrap_err();
    assert_eq!(e, AuthError::WrongPassword);
    assert_eq!(
        (e.status(), e.reason(), e.stale()),
        (403, "Forbidden", false)
    );
}

#[test]
fn stored_ha1_verifies_like_the_password() {
    let v = verifier();
    for alg in [DigestAlgorithm::Sha256, DigestAlgorithm::Md5] {
        let cr = answer(&v, t(0), alg, "s3cret", 1);
        let good = ha1(alg, "alice", REALM, "s3cret");
        assert_eq!(
            v.verify_ha1(&cr, "REGISTER", &good.to_uppercase(), t(0)),
            Ok(())
        );
        let cr = answer(&v, t(0), alg, "s3cret", 1);
        let bad = ha1(alg, "alice", REALM, "other");
        assert_eq!(
            v.verify_ha1(&cr, "REGISTER", &bad, t(0)),
            Err(AuthError::WrongPassword)
        );
    }
}

#[test]
fn nonce_goes_stale_after_its_lifetime() {
    let v = verifier();
    let cr = answer(&v, t(0), DigestAlgorithm::Sha256, "s3cret", 1);
    assert_eq!(v.verify(&cr, "REGISTER", "s3cret", t(300)), Ok(()));
    let cr2 = answer_to(
        &v.challenge(REALM, DigestAlgorithm::Sha256, t(0), false),
        "s3cret",
        1,
    );
    let e = v.verify(&cr2, "REGISTER", "s3cret", t(301)).unwrap_err();
    assert_eq!(e, AuthError::Stale);
    assert_eq!((e.status(), e.stale()), (401, true));
}

#[test]
fn stale_nonce_with_wrong_password_is_not_reported_stale() {
    // stale=true tells the UA its password was right; never say so for a wrong one.
    let v = verifier();
    let cr = answer(&v, t(0), DigestAlgorithm::Sha256, "guess", 1);
    assert_eq!(
        v.verify(&cr, "REGISTER", "s3cret", t(10_000)),
        Err(AuthError::WrongPassword)
    );
}

#[test]
fn lifetime_is_configurable() {
    let v = Verifier::new(
        b"k".to_vec(),
        VerifierConfig {
            nonce_lifetime: Duration::from_secs(30),
            ..VerifierConfig::default()
        },
    );
    let cr = answer(&v, t(0), DigestAlgorithm::Md5, "pw", 1);
    assert_eq!(
        v.verify(&cr, "REGISTER", "pw", t(31)),
        Err(AuthError::Stale)
    );
}

#[test]
fn same_nc_twice_is_replay_and_next_nc_is_fine() {
    let v = verifier();
    let c = v.challenge(REALM, DigestAlgorithm::Sha256, t(0), false);
    let first = answer_to(&c, "s3cret", 1);
    assert_eq!(v.verify(&first, "REGISTER", "s3cret", t(1)), Ok(()));
    let e = v.verify(&first, "REGISTER", "s3cret", t(2)).unwrap_err();
    assert_eq!(e, AuthError::Replay);
    assert!(e.stale());
    assert_eq!(
        v.verify(&answer_to(&c, "s3cret", 2), "REGISTER", "s3cret", t(3)),
        Ok(())
    );
    assert_eq!(
        v.verify(&answer_to(&c, "s3cret", 2), "REGISTER", "s3cret", t(3)),
        Err(AuthError::Replay)
    );
    assert_eq!(
        v.verify(&answer_to(&c, "s3cret", 9), "REGISTER", "s3cret", t(4)),
        Ok(())
    );
    assert_eq!(
        v.verify(&answer_to(&c, "s3cret", 3), "REGISTER", "s3cret", t(4)),
        Err(AuthError::Replay)
    );
}

#[test]
fn a_wrong_password_does_not_advance_the_nonce_count() {
    let v = verifier();
    let c = v.challenge(REALM, DigestAlgorithm::Sha256, t(0), false);
    let bad = answer_to(&c, "guess", 5);
    assert_eq!(
        v.verify(&bad, "REGISTER", "s3cret", t(0)),
        Err(AuthError::WrongPassword)
    );
    assert_eq!(
        v.verify(&answer_to(&c, "s3cret", 1), "REGISTER", "s3cret", t(0)),
        Ok(())
    );
}

#[test]
fn forged_nonce_bit_flip_is_rejected() {
    let v = verifier();
    let mut c = v.challenge(REALM, DigestAlgorithm::Sha256, t(0), false);
    // Flip the low bit of the last hex digit (inside the MAC) and of the first (the time).
    for idx in [c.nonce.len() - 1, 15] {
        let mut bytes = c.nonce.clone().into_bytes();
        bytes[idx] = match bytes[idx] {
            b'0' => b'1',
            b'1' => b'0',
            b => {
                if b.is_ascii_digit() {
                    b'0'
                } else {
                    b'1'
                }
            }
        };
        let forged = Challenge {
            nonce: String::from_utf8(bytes).unwrap(),
            ..c.clone()
        };
        let e = v.verify(&answer_to(&forged, "s3cret", 1), "REGISTER", "s3cret", t(0));
        assert_eq!(e, Err(AuthError::Forged));
    }
    // A nonce from another deployment (other secret) is foreign too.
    let other = Verifier::new(b"other".to_vec(), VerifierConfig::default());
    c = other.challenge(REALM, DigestAlgorithm::Sha256, t(0), false);
    assert_eq!(
        v.verify(&answer_to(&c, "s3cret", 1), "REGISTER", "s3cret", t(0))
            .unwrap_err()
            .status(),
        401
    );
}

#[test]
fn nonce_is_bound_to_its_realm_and_opaque_must_match() {
    let v = verifier();
    let c = v.challenge(REALM, DigestAlgorithm::Sha256, t(0), false);
    let moved = Challenge {
        realm: "evil.example.com".into(),
        ..c.clone()
    };
    assert_eq!(
        v.verify(&answer_to(&moved, "s3cret", 1), "REGISTER", "s3cret", t(0)),
        Err(AuthError::Forged)
    );
    let bad_opaque = Challenge {
        opaque: Some("00".into()),
        ..c.clone()
    };
    assert_eq!(
        v.verify(
            &answer_to(&bad_opaque, "s3cret", 1),
            "REGISTER",
            "s3cret",
            t(0)
        ),
        Err(AuthError::Forged)
    );
    // Phones that drop opaque are tolerated.
    let no_opaque = Challenge { opaque: None, ..c };
    assert_eq!(
        v.verify(
            &answer_to(&no_opaque, "s3cret", 1),
            "REGISTER",
            "s3cret",
            t(0)
        ),
        Ok(())
    );
}

#[test]
fn realm_allow_list() {
    let v = Verifier::new(
        b"k".to_vec(),
        VerifierConfig {
            realms: vec![REALM.into()],
            ..VerifierConfig::default()
        },
    );
    let c = v.challenge("other.example.com", DigestAlgorithm::Md5, t(0), false);
    assert_eq!(
        v.verify(&answer_to(&c, "pw", 1), "REGISTER", "pw", t(0)),
        Err(AuthError::UnknownRealm)
    );
}

#[test]
fn rfc2069_answers_refused_by_default_and_single_use_when_allowed() {
    let no_qop = |v: &Verifier| {
        let mut c = v.challenge(REALM, DigestAlgorithm::Md5, t(0), false);
        c.qop = None;
        answer_to(&c, "pw", 1)
    };
    let strict = verifier();
    let cr = no_qop(&strict);
    assert_eq!((cr.qop, cr.nc), (None, None));
    let e = strict.verify(&cr, "REGISTER", "pw", t(0)).unwrap_err();
    assert_eq!((e.status(), e), (403, AuthError::QopRequired));

    let lenient = Verifier::new(
        b"k".to_vec(),
        VerifierConfig {
            allow_rfc2069: true,
            ..VerifierConfig::default()
        },
    );
    let cr = no_qop(&lenient);
    assert_eq!(lenient.verify(&cr, "REGISTER", "pw", t(0)), Ok(()));
    assert_eq!(
        lenient.verify(&cr, "REGISTER", "pw", t(1)),
        Err(AuthError::Replay)
    );
}

#[test]
fn algorithms_outside_the_config_are_not_accepted() {
    let v = Verifier::new(
        b"k".to_vec(),
        VerifierConfig {
            algorithms: vec![DigestAlgorithm::Sha256],
            ..VerifierConfig::default()
        },
    );
    assert_eq!(v.challenges(REALM, t(0), false).len(), 1);
    let cr = answer(&v, t(0), DigestAlgorithm::Md5, "pw", 1);
    assert_eq!(
        v.verify(&cr, "REGISTER", "pw", t(0)),
        Err(AuthError::AlgorithmNotAllowed)
    );
    let cr = answer(&v, t(0), DigestAlgorithm::Sha256Sess, "pw", 1);
    assert_eq!(
        v.verify(&cr, "REGISTER", "pw", t(0)),
        Err(AuthError::AlgorithmNotAllowed)
    );
}

#[test]
fn session_algorithms_verify_when_enabled() {
    let v = Verifier::new(
        b"k".to_vec(),
        VerifierConfig {
            algorithms: vec![DigestAlgorithm::Sha256Sess, DigestAlgorithm::Md5Sess],
            ..VerifierConfig::default()
        },
    );
    for alg in [DigestAlgorithm::Sha256Sess, DigestAlgorithm::Md5Sess] {
        let cr = answer(&v, t(0), alg, "pw", 1);
        assert_eq!(v.verify(&cr, "REGISTER", "pw", t(0)), Ok(()));
        let cr = answer(&v, t(0), alg, "nope", 1);
        assert_eq!(
            v.verify(&cr, "REGISTER", "pw", t(0)),
            Err(AuthError::WrongPassword)
        );
    }
}

#[test]
fn uppercase_hex_in_response_and_nc_is_tolerated() {
    let v = verifier();
    let c = v.challenge(REALM, DigestAlgorithm::Md5, t(0), false);
    let value = authorization(&c, "alice", "pw", "REGISTER", URI, 10, "cn");
    assert!(value.contains("nc=0000000a"), "{value}");
    let mut cr = Credentials::parse(&value.replace("nc=0000000a", "nc=0000000A")).unwrap();
    // A UA that hashed the upper-case nc and printed upper-case hex.
    let md5 = DigestAlgorithm::Md5;
    let h1 = ha1(md5, "alice", REALM, "pw");
    let ha2 = {
        // MD5("REGISTER:sip:pbx.example.com") through the 3-part helper.
        let (scheme, host) = URI.split_once(':').unwrap();
        ha1(md5, "REGISTER", scheme, host)
    };
    let r = ha1(md5, &h1, &format!("{}:0000000A:cn:auth", c.nonce), &ha2);
    cr.response = r.to_uppercase();
    assert_eq!(v.verify(&cr, "REGISTER", "pw", t(0)), Ok(()));
    // And the lower-case answer from our own client also passes (nc 11 > 10).
    let own = authorization(&c, "alice", "pw", "REGISTER", URI, 11, "cn");
    assert_eq!(
        v.verify(&Credentials::parse(&own).unwrap(), "REGISTER", "pw", t(0)),
        Ok(())
    );
}

#[test]
fn tracker_stays_bounded_under_many_nonces() {
    let v = Verifier::new(
        b"k".to_vec(),
        VerifierConfig {
            max_tracked_nonces: 64,
            ..VerifierConfig::default()
        },
    );
    for i in 0..1000u64 {
        let cr = answer(&v, t(i / 10), DigestAlgorithm::Md5, "pw", 1);
        assert_eq!(v.verify(&cr, "REGISTER", "pw", t(i / 10)), Ok(()), "{i}");
        assert!(v.tracked_nonces() <= 64);
    }
    v.purge(t(10_000));
    assert_eq!(v.tracked_nonces(), 0);
}

#[test]
fn verifier_is_shareable_between_tasks() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Verifier>();
}

#[test]
fn concurrent_replays_of_one_answer_succeed_exactly_once() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let v = verifier();
    let cr = answer(&v, t(0), DigestAlgorithm::Sha256, "s3cret", 1);
    let ok = AtomicUsize::new(0);
    let replay = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..25 {
                    match v.verify(&cr, "REGISTER", "s3cret", t(1)) {
                        Ok(()) => ok.fetch_add(1, Ordering::Relaxed),
                        Err(AuthError::Replay) => replay.fetch_add(1, Ordering::Relaxed),
                        Err(e) => panic!("unexpected {e:?}"),
                    };
                }
            });
        }
    });
    assert_eq!(ok.load(Ordering::Relaxed), 1);
    assert_eq!(replay.load(Ordering::Relaxed), 199);
}
