//! Phone numbers as the dialer keeps them: E.164 (ITU-T E.164, `+` then at most 15
//! digits), parsed and validated with the `phonenumber` crate (libphonenumber's metadata)
//! from whatever a list holds: international (`+44 20 7946 0018`, `0044…`), national with
//! a default country (`(415) 555-2671`, `020 7946 0018`), or RFC 3966 `tel:` URIs.

use std::fmt;
use std::str::FromStr;

use phonenumber::country::Id;
use phonenumber::Mode;
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
pub fn normalise(raw: &str, default_region: Option<Region>) -> Result<Normalised, PhoneError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(PhoneError::Empty);
    }
    let international = raw.starts_with('+') || raw.starts_with("00") || raw.starts_with("tel:+");
    if !international && default_region.is_none() {
        return Err(PhoneError::NoCountry);
    }
    let mut number = phonenumber::parse(default_region, raw);
    if let Some(rest) = raw.strip_prefix("00") {
        // `00` is the international prefix almost everywhere, but not in the default region
        // (the NANP dials 011): read `0049…` as `+49…` when the national reading fails.
        if !number.as_ref().is_ok_and(phonenumber::is_valid) {
            if let Ok(plus) = phonenumber::parse(None, format!("+{rest}")) {
                number = Ok(plus);
            }
        }
    }
    let number = number.map_err(|e| PhoneError::Unparsable(e.to_string()))?;
    let region = number.country().id();
    if !phonenumber::is_valid(&number) {
        return Err(PhoneError::Invalid {
            region: region.map_or_else(|| "??".to_owned(), |r| r.as_ref().to_owned()),
        });
    }
    let e164 = number.format().mode(Mode::E164).to_string();
    let code = number.code().value().to_string();
    let national = e164
        .get(1..)
        .and_then(|digits| digits.strip_prefix(code.as_str()))
        .unwrap_or_default()
        .to_owned();
    Ok(Normalised {
        e164: E164(e164),
        region,
        national,
    })
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

    #[test]
    fn e164_from_str_requires_a_country_code() {
        assert_eq!(
            "+14155552671".parse::<E164>().expect("valid").as_str(),
            "+14155552671"
        );
        assert!("4155552671".parse::<E164>().is_err());
    }
}
