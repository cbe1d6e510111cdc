//! The location service on a virtual clock: RFC 3261 §10.3 register, refresh, expiry,
//! removal, wildcard, 423, clamping, contact limits, q ordering and CSeq ordering.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use switchboard::sip::registrar::{
    Aor, ContactSet, ContactSpec, RegisterError, RegisterRequest, Registrar, RegistrarPolicy,
    Transport,
};

struct Clock(Instant);

impl Clock {
    fn at(&self, secs: u64) -> Instant {
        self.0 + Duration::from_secs(secs)
    }
}

fn clock() -> Clock {
    Clock(Instant::now())
}

fn alice() -> Aor {
    Aor::new("1001", "pbx.example.com").unwrap()
}

fn src(port: u16) -> SocketAddr {
    SocketAddr::from(([192, 0, 2, 10], port))
}

fn req(
    call_id: &str,
    cseq: u32,
    expires: Option<u32>,
    contacts: Vec<ContactSpec>,
) -> RegisterRequest {
    RegisterRequest {
        aor: alice(),
        call_id: call_id.into(),
        cseq,
        header_expires: expires,
        contacts: ContactSet::List(contacts),
        source: src(5060),
        transport: Transport::Udp,
    }
}

fn contact(uri: &str) -> ContactSpec {
    ContactSpec::new(uri)
}

fn with_q(uri: &str, q: f32) -> ContactSpec {
    ContactSpec {
        q: Some(q),
        ..ContactSpec::new(uri)
    }
}

fn policy() -> RegistrarPolicy {
    RegistrarPolicy::default()
}

#[test]
fn register_then_lookup_then_expire() {
    let c = clock();
    let r = Registrar::new();
    let got = r
        .register(
            c.at(0),
            req("c1", 1, Some(120), vec![contact("sip:1001@10.0.0.5:5060")]),
            &policy(),
        )
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].expires_in(c.at(0)), 120);
    assert_eq!(got[0].source, src(5060));
    assert_eq!(
        got[0].contact_header(c.at(0)),
        "<sip:1001@10.0.0.5:5060>;expires=120"
    );
    assert_eq!(r.lookup(&alice(), c.at(119)).len(), 1);
    assert!(
        r.lookup(&alice(), c.at(120)).is_empty(),
        "expired at its deadline"
    );
    assert_eq!(r.count(), 1, "expired but not yet purged");
}

#[test]
fn refresh_extends_the_binding() {
    let c = clock();
    let r = Registrar::new();
    let p = policy();
    r.register(
        c.at(0),
        req("c1", 1, Some(120), vec![contact("sip:1001@10.0.0.5")]),
        &p,
    )
    .unwrap();
    let out = r
        .register_detailed(
            c.at(100),
            req("c1", 2, Some(120), vec![contact("sip:1001@10.0.0.5")]),
            &p,
        )
        .unwrap();
    assert_eq!((out.added.len(), out.refreshed.len()), (0, 1));
    assert_eq!(r.lookup(&alice(), c.at(200)).len(), 1);
    assert_eq!(r.lookup(&alice(), c.at(200))[0].expires_in(c.at(200)), 20);
    assert_eq!(r.lookup(&alice(), c.at(200))[0].cseq, 2);
    assert!(r.lookup(&alice(), c.at(220)).is_empty());
}

#[test]
fn expires_param_beats_header_beats_default() {
    let c = clock();
    let r = Registrar::new();
    let p = policy();
    let mut a = contact("sip:a@10.0.0.1");
    a.expires_param = Some(300);
    let got = r
        .register(
            c.at(0),
            req("c1", 1, Some(600), vec![a, contact("sip:b@10.0.0.2")]),
            &p,
        )
        .unwrap();
    let secs = |u: &str| {
        got.iter()
            .find(|b| b.contact == u)
            .map(|b| b.expires_in(c.at(0)))
            .unwrap()
    };
    assert_eq!(secs("sip:a@10.0.0.1"), 300);
    assert_eq!(secs("sip:b@10.0.0.2"), 600);
    let got = r
        .register(
            c.at(0),
            req("c2", 1, None, vec![contact("sip:c@10.0.0.3")]),
            &p,
        )
        .unwrap();
    let c3 = got.iter().find(|b| b.contact == "sip:c@10.0.0.3").unwrap();
    assert_eq!(c3.expires_in(c.at(0)), p.default_expires);
}

#[test]
fn expires_zero_removes_one_contact() {
    let c = clock();
    let r = Registrar::new();
    let p = policy();
    r.register(
        c.at(0),
        req(
            "c1",
            1,
            Some(3600),
            vec![contact("sip:a@10.0.0.1"), contact("sip:b@10.0.0.2")],
        ),
        &p,
    )
    .unwrap();
    let mut gone = contact("sip:a@10.0.0.1");
    gone.expires_param = Some(0);
    let out = r
        .register_detailed(c.at(5), req("c1", 2, None, vec![gone]), &p)
        .unwrap();
    assert_eq!(out.removed.len(), 1);
    assert_eq!(out.removed[0].contact, "sip:a@10.0.0.1");
    let left = r.lookup(&alice(), c.at(5));
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].contact, "sip:b@10.0.0.2");
    // Header Expires: 0 removes too, and the last removal drops the AOR.
    r.register(
        c.at(6),
        req("c1", 3, Some(0), vec![contact("sip:b@10.0.0.2")]),
        &p,
    )
    .unwrap();
    assert!(r.lookup(&alice(), c.at(6)).is_empty());
    assert_eq!((r.count(), r.aor_count()), (0, 0));
}

#[test]
fn removing_an_unknown_contact_is_fine() {
    let c = clock();
    let r = Registrar::new();
    let got = r
        .register(
            c.at(0),
            req("c1", 1, Some(0), vec![contact("sip:a@10.0.0.1")]),
            &policy(),
        )
        .unwrap();
    assert!(got.is_empty());
    assert_eq!(r.aor_count(), 0);
}

#[test]
fn wildcard_removes_everything_only_with_expires_zero() {
    let c = clock();
    let r = Registrar::new();
    let p = policy();
    r.register(
        c.at(0),
        req("c1", 1, Some(3600), vec![contact("sip:a@10.0.0.1")]),
        &p,
    )
    .unwrap();
    r.register(
        c.at(0),
        req("c2", 1, Some(3600), vec![contact("sip:b@10.0.0.2")]),
        &p,
    )
    .unwrap();
    let mut star = req("c3", 1, Some(60), vec![]);
    star.contacts = ContactSet::Star;
    let e = r.register(c.at(1), star.clone(), &p).unwrap_err();
    assert_eq!((e.status(), e.reason()), (400, "Bad Request"));
    star.header_expires = None;
    assert_eq!(
        r.register(c.at(1), star.clone(), &p),
        Err(RegisterError::InvalidWildcard)
    );
    // `*` mixed with other contacts.
    let mixed = req(
        "c3",
        1,
        Some(0),
        vec![contact("*"), contact("sip:a@10.0.0.1")],
    );
    assert_eq!(
        r.register(c.at(1), mixed, &p),
        Err(RegisterError::InvalidWildcard)
    );
    assert_eq!(
        r.lookup(&alice(), c.at(1)).len(),
        2,
        "refused requests change nothing"
    );

    star.header_expires = Some(0);
    let out = r.register_detailed(c.at(2), star, &p).unwrap();
    assert_eq!(out.removed.len(), 2);
    assert!(out.bindings.is_empty());
    assert!(r.lookup(&alice(), c.at(2)).is_empty());
    assert_eq!(r.count(), 0);
}

#[test]
fn wildcard_respects_cseq_of_the_same_call_id() {
    let c = clock();
    let r = Registrar::new();
    let p = policy();
    r.register(
        c.at(0),
        req("c1", 5, Some(3600), vec![contact("sip:a@10.0.0.1")]),
        &p,
    )
    .unwrap();
    let mut star = req("c1", 5, Some(0), vec![]);
    star.contacts = ContactSet::Star;
    let e = r.register(c.at(1), star.clone(), &p).unwrap_err();
    assert_eq!(
        e,
        RegisterError::OutOfOrder {
            cseq: 5,
            stored_cseq: 5
        }
    );
    assert_eq!(r.lookup(&alice(), c.at(1)).len(), 1);
    star.cseq = 6;
    assert!(r.register(c.at(1), star, &p).unwrap().is_empty());
}

#[test]
fn too_brief_is_423_with_min_expires() {
    let c = clock();
    let r = Registrar::new();
    let e = r
        .register(
            c.at(0),
            req("c1", 1, Some(30), vec![contact("sip:a@10.0.0.1")]),
            &policy(),
        )
        .unwrap_err();
    assert_eq!(e, RegisterError::IntervalTooBrief { min_expires: 60 });
    assert_eq!(
        (e.status(), e.reason(), e.min_expires()),
        (423, "Interval Too Brief", Some(60))
    );
    assert_eq!(r.count(), 0);
    // The contact's expires param wins over the header, so a brief param is too brief
    // even with a long Expires header; exactly the minimum is fine.
    let mut a = contact("sip:a@10.0.0.1");
    a.expires_param = Some(59);
    assert!(r
        .register(c.at(0), req("c1", 2, Some(3600), vec![a]), &policy())
        .is_err());
    assert!(r
        .register(
            c.at(0),
            req("c1", 3, Some(60), vec![contact("sip:a@10.0.0.1")]),
            &policy()
        )
        .is_ok());
}

#[test]
fn too_long_is_clamped_to_max() {
    let c = clock();
    let r = Registrar::new();
    let got = r
        .register(
            c.at(0),
            req("c1", 1, Some(86_400), vec![contact("sip:a@10.0.0.1")]),
            &policy(),
        )
        .unwrap();
    assert_eq!(got[0].expires_in(c.at(0)), 3600);
    let strict = RegistrarPolicy {
        max_expires: 600,
        ..policy()
    };
    let got = r
        .register(
            c.at(0),
            req("c1", 2, Some(3600), vec![contact("sip:a@10.0.0.1")]),
            &strict,
        )
        .unwrap();
    assert_eq!(got[0].expires_in(c.at(0)), 600);
}

#[test]
fn several_contacts_are_q_ordered() {
    let c = clock();
    let r = Registrar::new();
    let p = policy();
    r.register(
        c.at(0),
        req(
            "c1",
            1,
            Some(3600),
            vec![
                with_q("sip:low@10.0.0.1", 0.1),
                contact("sip:none@10.0.0.2"),
                with_q("sip:mid@10.0.0.3", 0.5),
            ],
        ),
        &p,
    )
    .unwrap();
    r.register(
        c.at(1),
        req("c2", 1, Some(3600), vec![with_q("sip:top@10.0.0.4", 1.0)]),
        &p,
    )
    .unwrap();
    let order: Vec<String> = r
        .lookup(&alice(), c.at(2))
        .into_iter()
        .map(|b| b.contact)
        .collect();
    assert_eq!(
        order,
        [
            "sip:none@10.0.0.2",
            "sip:top@10.0.0.4",
            "sip:mid@10.0.0.3",
            "sip:low@10.0.0.1"
        ]
    );
    assert_eq!(
        r.register(
            c.at(2),
            req("c3", 1, None, vec![with_q("sip:x@10.0.0.9", 1.5)]),
            &p
        ),
        Err(RegisterError::InvalidQ)
    );
}

#[test]
fn out_of_order_cseq_is_500_and_changes_nothing() {
    let c = clock();
    let r = Registrar::new();
    let p = policy();
    r.register(
        c.at(0),
        req("c1", 10, Some(3600), vec![contact("sip:a@10.0.0.1")]),
        &p,
    )
    .unwrap();
    for cseq in [9, 10] {
        let e = r
            .register(
                c.at(1),
                req("c1", cseq, Some(0), vec![contact("sip:a@10.0.0.1")]),
                &p,
            )
            .unwrap_err();
        assert_eq!(
            e,
            RegisterError::OutOfOrder {
                cseq,
                stored_cseq: 10
            }
        );
        assert_eq!((e.status(), e.reason()), (500, "Server Internal Error"));
    }
    assert_eq!(r.lookup(&alice(), c.at(1)).len(), 1);
    assert!(r
        .register(
            c.at(1),
            req("c1", 11, Some(0), vec![contact("sip:a@10.0.0.1")]),
            &p
        )
        .unwrap()
        .is_empty());
}

#[test]
fn different_call_id_replaces_the_contact_whatever_its_cseq() {
    let c = clock();
    let r = Registrar::new();
    let p = policy();
    r.register(
        c.at(0),
        req("c1", 10, Some(3600), vec![contact("sip:a@10.0.0.1")]),
        &p,
    )
    .unwrap();
    let mut moved = req("c2", 1, Some(600), vec![contact("SIP:a@10.0.0.1")]);
    moved.source = src(6000);
    moved.transport = Transport::Tcp;
    let got = r.register(c.at(1), moved, &p).unwrap();
    assert_eq!(
        got.len(),
        1,
        "same contact URI (compared case-insensitively in scheme)"
    );
    assert_eq!((got[0].call_id.as_str(), got[0].cseq), ("c2", 1));
    assert_eq!(
        (got[0].source, got[0].transport),
        (src(6000), Transport::Tcp)
    );
}

#[test]
fn instance_id_replaces_a_binding_whose_address_changed() {
    let c = clock();
    let r = Registrar::new();
    let p = policy();
    let inst = |uri: &str| ContactSpec {
        params: vec![
            (
                "+sip.instance".into(),
                Some("\"<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>\"".into()),
            ),
            ("reg-id".into(), Some("1".into())),
        ],
        ..ContactSpec::new(uri)
    };
    r.register(
        c.at(0),
        req("c1", 1, Some(3600), vec![inst("sip:1001@10.0.0.5:5060")]),
        &p,
    )
    .unwrap();
    let got = r
        .register(
            c.at(10),
            req(
                "c1",
                2,
                Some(3600),
                vec![inst("sip:1001@198.51.100.9:40000")],
            ),
            &p,
        )
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].contact, "sip:1001@198.51.100.9:40000");
    assert_eq!(
        got[0].param("+sip.instance"),
        Some("\"<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>\"")
    );
}

#[test]
fn no_contact_is_a_query() {
    let c = clock();
    let r = Registrar::new();
    let p = policy();
    assert!(r
        .register(c.at(0), req("q", 1, None, vec![]), &p)
        .unwrap()
        .is_empty());
    r.register(
        c.at(0),
        req("c1", 1, Some(3600), vec![contact("sip:a@10.0.0.1")]),
        &p,
    )
    .unwrap();
    let got = r
        .register(c.at(100), req("q", 2, Some(0), vec![]), &p)
        .unwrap();
    assert_eq!(got.len(), 1, "Expires: 0 without Contact removes nothing");
    assert_eq!(got[0].expires_in(c.at(100)), 3500);
    assert_eq!(r.aor_count(), 1);
}

#[test]
fn contact_limit_is_403_or_evicts_the_oldest() {
    let c = clock();
    let r = Registrar::new();
    let p = RegistrarPolicy {
        max_contacts: 2,
        ..policy()
    };
    r.register(
        c.at(0),
        req("a", 1, Some(600), vec![contact("sip:a@10.0.0.1")]),
        &p,
    )
    .unwrap();
    r.register(
        c.at(0),
        req("b", 1, Some(3600), vec![contact("sip:b@10.0.0.2")]),
        &p,
    )
    .unwrap();
    let e = r
        .register(
            c.at(1),
            req("c", 1, Some(3600), vec![contact("sip:c@10.0.0.3")]),
            &p,
        )
        .unwrap_err();
    assert_eq!(e, RegisterError::TooManyContacts { max: 2 });
    assert_eq!((e.status(), e.reason()), (403, "Forbidden"));
    // Refreshing an existing one at the limit is still fine.
    assert!(r
        .register(
            c.at(1),
            req("b", 2, Some(3600), vec![contact("sip:b@10.0.0.2")]),
            &p
        )
        .is_ok());
    // An expired binding does not count.
    assert!(r
        .register(
            c.at(600),
            req("c", 1, Some(3600), vec![contact("sip:c@10.0.0.3")]),
            &p
        )
        .is_ok());

    let evicting = RegistrarPolicy {
        evict_when_full: true,
        ..p.clone()
    };
    let out = r
        .register_detailed(
            c.at(700),
            req("d", 1, Some(3600), vec![contact("sip:d@10.0.0.4")]),
            &evicting,
        )
        .unwrap();
    assert_eq!(out.removed.len(), 1);
    assert_eq!(
        out.removed[0].contact, "sip:b@10.0.0.2",
        "closest to expiry goes"
    );
    let mut left: Vec<String> = out.bindings.into_iter().map(|b| b.contact).collect();
    left.sort();
    assert_eq!(left, ["sip:c@10.0.0.3", "sip:d@10.0.0.4"]);
    // One request bringing more than the limit is refused even when evicting.
    let many = req(
        "e",
        1,
        Some(3600),
        vec![
            contact("sip:e@1.1.1.1"),
            contact("sip:f@1.1.1.2"),
            contact("sip:g@1.1.1.3"),
        ],
    );
    assert_eq!(
        r.register(c.at(701), many, &evicting),
        Err(RegisterError::TooManyContacts { max: 2 })
    );
}

#[test]
fn purge_returns_exactly_what_expired() {
    let c = clock();
    let r = Registrar::new();
    let p = policy();
    r.register(
        c.at(0),
        req("c1", 1, Some(60), vec![contact("sip:short@10.0.0.1")]),
        &p,
    )
    .unwrap();
    r.register(
        c.at(0),
        req("c1", 2, Some(600), vec![contact("sip:long@10.0.0.2")]),
        &p,
    )
    .unwrap();
    let bob = Aor::new("1002", "pbx.example.com").unwrap();
    let mut other = req("c9", 1, Some(120), vec![contact("sip:bob@10.0.0.3")]);
    other.aor = bob.clone();
    r.register(c.at(0), other, &p).unwrap();

    assert!(r.purge_expired(c.at(59)).is_empty());
    let mut gone: Vec<(String, String)> = r
        .purge_expired(c.at(130))
        .into_iter()
        .map(|(aor, b)| (aor.to_string(), b.contact))
        .collect();
    gone.sort();
    assert_eq!(
        gone,
        [
            (
                "1001@pbx.example.com".to_string(),
                "sip:short@10.0.0.1".to_string()
            ),
            (
                "1002@pbx.example.com".to_string(),
                "sip:bob@10.0.0.3".to_string()
            ),
        ]
    );
    assert_eq!((r.count(), r.aor_count()), (1, 1));
    assert!(r.lookup(&bob, c.at(130)).is_empty());
    assert!(r.purge_expired(c.at(130)).is_empty(), "purged once");
}

#[test]
fn connection_loss_removes_its_bindings() {
    let c = clock();
    let r = Registrar::new();
    let p = policy();
    let mut tcp = req(
        "c1",
        1,
        Some(3600),
        vec![contact("sip:a@10.0.0.1;transport=tcp")],
    );
    tcp.transport = Transport::Tcp;
    tcp.source = src(40_001);
    r.register(c.at(0), tcp, &p).unwrap();
    r.register(
        c.at(0),
        req("c2", 1, Some(3600), vec![contact("sip:b@10.0.0.2")]),
        &p,
    )
    .unwrap();
    assert!(r.remove_by_source(src(40_001), Transport::Udp).is_empty());
    let gone = r.remove_by_source(src(40_001), Transport::Tcp);
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0].1.contact, "sip:a@10.0.0.1;transport=tcp");
    assert_eq!(r.lookup(&alice(), c.at(1)).len(), 1);
}

#[test]
fn aors_are_independent_and_domain_case_insensitive() {
    let c = clock();
    let r = Registrar::new();
    let p = policy();
    r.register(
        c.at(0),
        req("c1", 1, Some(3600), vec![contact("sip:a@10.0.0.1")]),
        &p,
    )
    .unwrap();
    assert_eq!(
        r.lookup(&Aor::parse("sip:1001@PBX.example.com").unwrap(), c.at(0))
            .len(),
        1
    );
    assert!(r
        .lookup(&Aor::new("1002", "pbx.example.com").unwrap(), c.at(0))
        .is_empty());
}

#[test]
fn registrar_is_shareable_between_tasks() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Registrar>();
}

#[test]
fn concurrent_registrations_respect_the_contact_cap() {
    let c = clock();
    let r = Registrar::new();
    let p = RegistrarPolicy {
        max_contacts: 5,
        ..policy()
    };
    let now = c.at(0);
    let (ok, refused) = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4u8)
            .map(|t| {
                let (r, p) = (&r, &p);
                s.spawn(move || {
                    let mut tally = (0, 0);
                    for i in 0..10u8 {
                        let uri = format!("sip:1001@10.0.{t}.{i}");
                        match r.register(
                            now,
                            req(&format!("c{t}-{i}"), 1, Some(600), vec![contact(&uri)]),
                            p,
                        ) {
                            Ok(_) => tally.0 += 1,
                            Err(RegisterError::TooManyContacts { max: 5 }) => tally.1 += 1,
                            Err(e) => panic!("unexpected {e:?}"),
                        }
                    }
                    tally
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    });
    assert_eq!((ok, refused), (5, 35));
    assert_eq!(r.lookup(&alice(), now).len(), 5);
}

#[test]
fn the_200_contact_list_carries_params_q_and_remaining_expiry() {
    let c = clock();
    let r = Registrar::new();
    let spec = ContactSpec {
        uri: "<sip:1001@10.0.0.5:5062;transport=tcp>".into(),
        expires_param: Some(1800),
        q: Some(0.5),
        params: vec![
            ("+sip.instance".into(), Some("\"<urn:uuid:1>\"".into())),
            ("ob".into(), None),
        ],
    };
    let got = r
        .register(c.at(0), req("c1", 1, None, vec![spec]), &policy())
        .unwrap();
    assert_eq!(
        got[0].contact_header(c.at(100)),
        "<sip:1001@10.0.0.5:5062;transport=tcp>;+sip.instance=\"<urn:uuid:1>\";ob;q=0.5;expires=1700"
    );
    assert_eq!(got[0].param("OB"), Some(""));
}

#[test]
fn duplicate_contact_in_one_request_counts_once() {
    let c = clock();
    let r = Registrar::new();
    let mut short = contact("sip:a@10.0.0.1");
    short.expires_param = Some(100);
    let out = r
        .register_detailed(
            c.at(0),
            req("c1", 1, Some(600), vec![contact("sip:a@10.0.0.1"), short]),
            &policy(),
        )
        .unwrap();
    assert_eq!(out.added.len(), 1);
    assert_eq!(out.bindings.len(), 1);
    assert_eq!(
        out.bindings[0].expires_in(c.at(0)),
        100,
        "the last one wins"
    );
}

#[test]
fn our_default_below_the_minimum_is_raised_not_refused() {
    let c = clock();
    let r = Registrar::new();
    let p = RegistrarPolicy {
        default_expires: 30,
        ..policy()
    };
    let got = r
        .register(
            c.at(0),
            req("c1", 1, None, vec![contact("sip:a@10.0.0.1")]),
            &p,
        )
        .unwrap();
    assert_eq!(got[0].expires_in(c.at(0)), 60);
}
