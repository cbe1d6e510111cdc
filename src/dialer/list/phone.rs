//! Phone numbers as the dialer keeps them: E.164 (ITU-T E.164, `+` then at most 15
//! digits), parsed and validated with the `phonenumber` crate (libphonenumber's metadata)
//! from whatever a list holds: international (`+44 20 7946 0018`, `0044…`), national with
//! a default country (`(415) 555-2671`, `020 7946 0018`), or RFC 3966 `tel:` URIs.

use std::fmt;
use std::str::FromStr;

use phonenumber::country::Id;
use serde::{Deserialize, Serialize};

/// A country or region, as ISO 3166-1 alpha-2 in libphonenumber's list (`US`, `GB`, …).
pub type Region = Id;

/// A valid number in E.164 form.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct E164(String);

impl E164 {
    /// `+` and digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Unwraps the text.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// Nothing but blanks.
    #[error("the phone number is empty")]
    Empty,
    /// Not a phone number at all (letters, too few digits, a bad country code, too long).
    #[error("not a phone number: {0}")]
    Unparsable(String),
    /// Written nationally but no default country was configured.
    #[error("national number without a country code and no default country")]
    NoCountry,
    /// Parsed, but no such number exists in its country's numbering plan.
    #[error("not a valid number in {region}")]
    Invalid {
        /// The region it would belong to ("??" when none).
        region: String,
    },
}

/// A parsed number: E.164 plus what the time-zone lookup needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalised {
    pub e164: E164,
    /// The region the number belongs to (None for non-geographic numbers, e.g. +800).
    pub region: Option<Region>,
    /// The national significant number's digits (area code first, where there is one).
    pub national: String,
}

/// Parses and validates `raw`; national numbers are read as `default_region`'s.
///
/// Same verdicts as `phonenumber::is_valid`, `PhoneNumber::country().id()` and E.164
/// formatting, computed in one pass (see `classify`): each of those calls in the crate
/// looks the number's region up again through a regex cache behind one global lock, and
/// the E.164 formatter also picks a display format it does not use. This is most of a
/// list import's parsing time.
pub fn normalise(raw: &str, default_region: Option<Region>) -> Result<Normalised, PhoneError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(PhoneError::Empty);
    }
    let international = raw.starts_with('+') || raw.starts_with("00") || raw.starts_with("tel:+");
    if !international && default_region.is_none() {
        return Err(PhoneError::NoCountry);
    }
    let mut number = phonenumber::parse(default_region, raw).map(|n| {
        let verdict = classify(&n);
        (n, verdict)
    });
    if let Some(rest) = raw.strip_prefix("00") {
        // `00` is the international prefix almost everywhere, but not in the default region
        // (the NANP dials 011): read `0049…` as `+49…` when the national reading fails.
        if !number.as_ref().is_ok_and(|(_, v)| v.valid) {
            if let Ok(plus) = phonenumber::parse(None, format!("+{rest}")) {
                let verdict = classify(&plus);
                number = Ok((plus, verdict));
            }
        }
    }
    let (number, verdict) = number.map_err(|e| PhoneError::Unparsable(e.to_string()))?;
    let region = verdict.region;
    if !verdict.valid {
        return Err(PhoneError::Invalid {
            region: region.map_or_else(|| "??".to_owned(), |r| r.as_ref().to_owned()),
        });
    }
    let national = verdict.national;
    let code = number.code().value();
    let mut e164 = String::with_capacity(national.len() + 4);
    {
        use fmt::Write;
        let _ = write!(e164, "+{code}{national}");
    }
    Ok(Normalised {
        e164: E164(e164),
        region,
        national,
    })
}

/// A parsed number's region and validity.
struct Verdict {
    region: Option<Region>,
    valid: bool,
    /// National significant number (leading zeros included).
    national: String,
}

/// libphonenumber's region lookup and validity check in one pass over the metadata: the
/// region is the only one for the country code, or the first of the code's regions whose
/// leading digits match or whose numbering plan holds the number; the number is valid when
/// that region's general pattern and one of its number types' patterns match it (the
/// crate's `number_type(..) != Unknown`, checked fixed-line and mobile first).
fn classify(number: &phonenumber::PhoneNumber) -> Verdict {
    let national = number.national().to_string();
    let code = number.code().value();
    let (region, valid) = region_and_validity(code, &national);
    Verdict {
        region,
        valid,
        national,
    }
}

fn region_and_validity(code: u16, national: &str) -> (Option<Region>, bool) {
    let db: &phonenumber::metadata::Database = &phonenumber::metadata::DATABASE;
    let Some(regions) = db.region(&code) else {
        return (None, false);
    };
    if let [only] = regions.as_slice() {
        if *only == "001" {
            // non-geographic (+800, +882, …): the code's first metadata, no region
            let valid = db
                .by_code(&code)
                .and_then(|m| m.into_iter().next())
                .is_some_and(|m| has_type(m, national));
            return (None, valid);
        }
        return match only.parse::<Region>() {
            Ok(id) => (
                Some(id),
                db.by_id(*only).is_some_and(|m| has_type(m, national)),
            ),
            Err(_) => (None, false),
        };
    }
    for region in regions {
        let Some(meta) = db.by_id(region) else {
            continue;
        };
        match meta.leading_digits() {
            Some(leading) => {
                if leading.find(national).is_some_and(|m| m.start() == 0) {
                    return match region.parse::<Region>() {
                        Ok(id) => (Some(id), has_type(meta, national)),
                        Err(_) => (None, false),
                    };
                }
            }
            None => {
                if has_type(meta, national) {
                    return match region.parse::<Region>() {
                        Ok(id) => (Some(id), true),
                        Err(_) => (None, false),
                    };
                }
            }
        }
    }
    (None, false)
}

/// Whether `national` is a number of any type in `meta`'s plan.
fn has_type(meta: &phonenumber::Metadata, national: &str) -> bool {
    let d = meta.descriptors();
    d.general().is_match(national)
        && [
            d.fixed_line(),
            d.mobile(),
            d.toll_free(),
            d.premium_rate(),
            d.shared_cost(),
            d.voip(),
            d.personal_number(),
            d.pager(),
            d.uan(),
            d.voicemail(),
        ]
        .into_iter()
        .flatten()
        .any(|t| t.is_match(national))
}

/// Parses a number already believed to be E.164 (an API argument, a DNC entry).
impl FromStr for E164 {
    type Err = PhoneError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        normalise(s, None).map(|n| n.e164)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use phonenumber::Mode;

    fn ok(raw: &str, region: Option<Region>) -> Normalised {
        normalise(raw, region).unwrap_or_else(|e| panic!("{raw}: {e}"))
    }

    #[test]
    fn national_numbers_take_the_default_country() {
        let n = ok("(415) 555-2671", Some(Id::US));
        assert_eq!(n.e164.as_str(), "+14155552671");
        assert_eq!(n.region, Some(Id::US));
        assert_eq!(n.national, "4155552671");
        assert_eq!(
            ok("020 7946 0018", Some(Id::GB)).e164.as_str(),
            "+442079460018"
        );
        // Italian numbers keep their leading zero in E.164.
        assert_eq!(
            ok("06 6982 1234", Some(Id::IT)).e164.as_str(),
            "+390669821234"
        );
    }

    #[test]
    fn international_numbers_ignore_the_default_country() {
        for raw in [
            "+44 20 7946 0018",
            "0044 20 7946 0018",
            "tel:+44-20-7946-0018",
        ] {
            let n = ok(raw, Some(Id::FR));
            assert_eq!(n.e164.as_str(), "+442079460018", "{raw}");
            assert_eq!(n.region, Some(Id::GB));
        }
        assert_eq!(ok("+1 604 555 0143", None).region, Some(Id::CA));
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        assert_eq!(normalise("  ", Some(Id::US)), Err(PhoneError::Empty));
        assert!(matches!(
            normalise("call me", Some(Id::US)),
            Err(PhoneError::Unparsable(_))
        ));
        assert!(matches!(
            normalise("12", Some(Id::US)),
            Err(PhoneError::Unparsable(_))
        ));
        assert_eq!(normalise("555 2671", None), Err(PhoneError::NoCountry));
        // 555-01xx is reserved for fiction: no valid US area code 099.
        assert!(matches!(
            normalise("(099) 555-2671", Some(Id::US)),
            Err(PhoneError::Invalid { .. } | PhoneError::Unparsable(_))
        ));
        assert!(matches!(
            normalise("+1 99999999999999999", None),
            Err(PhoneError::Unparsable(_) | PhoneError::Invalid { .. })
        ));
    }

    /// The crate's own calls, as `normalise` made them before the one-pass lookup.
    fn oracle(raw: &str, default_region: Option<Region>) -> Result<(String, Option<Region>), bool> {
        let raw = raw.trim();
        let mut number = phonenumber::parse(default_region, raw);
        if let Some(rest) = raw.strip_prefix("00") {
            if !number.as_ref().is_ok_and(phonenumber::is_valid) {
                if let Ok(plus) = phonenumber::parse(None, format!("+{rest}")) {
                    number = Ok(plus);
                }
            }
        }
        let number = number.map_err(|_| false)?;
        if !phonenumber::is_valid(&number) {
            return Err(true);
        }
        // `country().id()` looks the region up without the national number's leading
        // zeros (unlike `is_valid`), so it finds none for Italian numbers: compare regions
        // only where there are no leading zeros (Italy is checked on its own below).
        let region = if number.national().zeros() > 0 {
            None
        } else {
            number.country().id()
        };
        Ok((number.format().mode(Mode::E164).to_string(), region))
    }

    #[test]
    fn one_pass_lookup_agrees_with_the_crate() {
        let samples = [
            ("(415) 555-2671", Some(Id::US)),
            ("(212) 555-0100", Some(Id::US)),
            ("(099) 555-2671", Some(Id::US)),
            ("+1 604 555 0143", None),
            ("+1 268 464 1234", None),
            ("+1 876 927 1234", None),
            ("+1 787 555 1234", None),
            ("+1 800 555 0199", None),
            ("+1 900 555 0199", None),
            ("(204) 555-0100", Some(Id::CA)),
            ("020 7946 0018", Some(Id::GB)),
            ("07911 123456", Some(Id::GB)),
            ("+44 1481 256789", None),
            ("+44 7781 123456", None),
            ("06 6982 1234", Some(Id::IT)),
            ("+39 06 6982 1234", None),
            ("+39 333 123 4567", None),
            ("+7 495 123 4567", None),
            ("+7 727 123 4567", None),
            ("+61 8 9123 4567", None),
            ("+61 412 345 678", None),
            ("+55 92 3123 4567", None),
            ("+800 1234 5678", None),
            ("+882 3456 7890", None),
            ("+262 262 12 34 56", None),
            ("+590 590 27 12 34", None),
            ("+47 22 12 34 56", None),
            ("+358 9 1234567", None),
            ("+212 5 2212 3456", None),
            ("0049 30 1234567", Some(Id::US)),
            ("0044 20 7946 0018", Some(Id::FR)),
            ("tel:+44-20-7946-0018", None),
            ("+1 99999999999999999", None),
            ("+999 123 4567", None),
            ("12", Some(Id::US)),
        ];
        for (raw, region) in samples {
            let ours = normalise(raw, region)
                .map(|n| {
                    let zeros = n.national.starts_with('0');
                    (n.e164.into_string(), if zeros { None } else { n.region })
                })
                .map_err(|e| matches!(e, PhoneError::Invalid { .. }));
            assert_eq!(ours, oracle(raw, region), "{raw}");
        }
        // Italy keeps its leading zero: the region the validity check used (the crate's
        // own `country().id()` answers None here)
        assert_eq!(ok("06 6982 1234", Some(Id::IT)).region, Some(Id::VA));
        assert_eq!(ok("+39 333 123 4567", None).region, Some(Id::IT));
        // every NANP area code and a few exchanges: the US/CA/Caribbean split
        for area in 200..1000 {
            for exchange in [201, 723] {
                let raw = format!("+1 {area} {exchange} 0143");
                let ours = normalise(&raw, None)
                    .map(|n| (n.e164.into_string(), n.region))
                    .map_err(|e| matches!(e, PhoneError::Invalid { .. }));
                assert_eq!(ours, oracle(&raw, None), "{raw}");
            }
        }
    }

    #[test]
    fn e164_from_str_requires_a_country_code() {
        assert_eq!(
            "+14155552671".parse::<E164>().expect("valid").as_str(),
            "+14155552671"
        );
        assert!("4155552671".parse::<E164>().is_err());
    }
}
