//! Digest verification and REGISTER processing costs: what one authenticated REGISTER
//! costs the switch besides parsing.
//!
//! `cargo bench --bench auth_registrar`

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant, UNIX_EPOCH};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use switchboard::sip::auth::{
    authorization, Credentials, DigestAlgorithm, Verifier, VerifierConfig,
};
use switchboard::sip::registrar::{
    Aor, ContactSet, ContactSpec, RegisterRequest, Registrar, RegistrarPolicy, Transport,
};

fn auth(c: &mut Criterion) {
    let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let v = Verifier::new(b"bench".to_vec(), VerifierConfig::default());
    let header = r#"Digest username="1001", realm="pbx.example.com", nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", uri="sip:pbx.example.com", response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", algorithm=SHA-256, cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", opaque="0011223344556677", qop=auth, nc=00000001"#;
    c.bench_function("auth/parse_credentials", |b| {
        b.iter(|| Credentials::parse(black_box(header)))
    });
    c.bench_function("auth/challenges_sha256_md5", |b| {
        b.iter(|| v.challenges(black_box("pbx.example.com"), now, false))
    });
    for alg in [DigestAlgorithm::Sha256, DigestAlgorithm::Md5] {
        let challenge = v.challenge("pbx.example.com", alg, now, false);
        let mut nc = 0u32;
        c.bench_function(&format!("auth/verify_{alg}"), |b| {
            b.iter_batched(
                || {
                    nc += 1;
                    let h = authorization(
                        &challenge,
                        "1001",
                        "s3cret",
                        "REGISTER",
                        "sip:pbx.example.com",
                        nc,
                        "abcdef",
                    );
                    Credentials::parse(&h).unwrap()
                },
                |cr| v.verify(&cr, "REGISTER", "s3cret", now).unwrap(),
                BatchSize::SmallInput,
            )
        });
    }
}

fn registrar(c: &mut Criterion) {
    let r = Registrar::new();
    let policy = RegistrarPolicy::default();
    let t0 = Instant::now();
    let source = SocketAddr::from(([192, 0, 2, 1], 5060));
    let aors: Vec<Aor> = (0..10_000)
        .map(|i| Aor::new(&format!("{i}"), "pbx.example.com").unwrap())
        .collect();
    let request = |aor: &Aor, cseq: u32| RegisterRequest {
        aor: aor.clone(),
        call_id: format!("{aor}-cid"),
        cseq,
        header_expires: Some(3600),
        contacts: ContactSet::List(vec![ContactSpec::new(format!(
            "sip:{}@10.0.0.1:5060",
            aor.user()
        ))]),
        source,
        transport: Transport::Udp,
    };
    for a in &aors {
        r.register(t0, request(a, 1), &policy).unwrap();
    }
    let mut cseq = 1u32;
    let mut i = 0usize;
    c.bench_function("registrar/refresh_10k_aors", |b| {
        b.iter(|| {
            i = (i + 1) % aors.len();
            if i == 0 {
                cseq += 1;
            }
            r.register(t0, request(&aors[i], cseq + 1), &policy)
                .unwrap()
        })
    });
    c.bench_function("registrar/lookup_10k_aors", |b| {
        b.iter(|| {
            i = (i + 7) % aors.len();
            r.lookup(black_box(&aors[i]), t0)
        })
    });
}

criterion_group!(benches, auth, registrar);
criterion_main!(benches);
