//! The time zone a lead's calling window is evaluated in, when its list gives none:
//! derived from the number's region (libphonenumber, via `phonenumber`) and a
//! region → IANA zone table.
//!
//! * Single-zone regions map to their zone ([`ZoneSource::Region`]).
//! * Multi-zone countries where the number says where it rings use the area code
//!   ([`ZoneSource::AreaCode`]): the US and Canada (NANP area codes), Australia (the
//!   one-digit area code: 2 NSW/ACT, 3 VIC/TAS, 7 QLD, 8 SA/NT/WA) and Brazil (two-digit
//!   DDD codes, mobiles included).
//! * Otherwise (a multi-zone country's mobile or unlisted area code, or a multi-zone
//!   country without an area-code table: Mexico, Russia, Indonesia, …) the country's most
//!   populous zone, flagged [`ZoneSource::CountryDefault`] so the import report says the
//!   zone is a guess. A list that needs exactness gives a timezone column.
//!
//! The NANP table lists the area codes outside the country's default zone (Eastern), by
//! the zone of most of their population; codes split between zones (e.g. 850 Florida
//! panhandle, 541 Oregon) take the majority zone.

use chrono_tz::Tz;

use super::phone::Normalised;

/// How a lead's zone was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ZoneSource {
    /// The list's timezone column.
    Column,
    /// The number's area code.
    AreaCode,
    /// The number's region, which has one zone.
    Region,
    /// The most populous zone of a multi-zone country: a guess.
    CountryDefault,
}

/// The zone for a number, or None when its region is not in the table (the row is then
/// refused: the window cannot be checked without a zone).
pub fn zone_for(number: &Normalised) -> Option<(Tz, ZoneSource)> {
    let region = number.region?;
    let region: &str = region.as_ref();
    let digits = number.national.as_str();
    let by_area = match region {
        "US" | "CA" => digits.get(..3).and_then(nanp_zone),
        "AU" => australia_zone(digits),
        "BR" => digits.get(..2).and_then(brazil_zone),
        _ => None,
    };
    if let Some(tz) = by_area {
        return Some((tz, ZoneSource::AreaCode));
    }
    if let Some(tz) = country_default(region) {
        return Some((tz, ZoneSource::CountryDefault));
    }
    single_zone(region).map(|tz| (tz, ZoneSource::Region))
}

/// Multi-zone countries: their most populous zone.
fn country_default(region: &str) -> Option<Tz> {
    use chrono_tz::{America, Asia, Australia, Europe};
    Some(match region {
        "US" => America::New_York,
        "CA" => America::Toronto,
        "AU" => Australia::Sydney,
        "BR" => America::Sao_Paulo,
        "MX" => America::Mexico_City,
        "RU" => Europe::Moscow,
        "ID" => Asia::Jakarta,
        "KZ" => Asia::Almaty,
        "AR" => America::Argentina::Buenos_Aires,
        "CL" => America::Santiago,
        "ES" => Europe::Madrid,
        "PT" => Europe::Lisbon,
        "EC" => America::Guayaquil,
        "MN" => Asia::Ulaanbaatar,
        "CD" => chrono_tz::Africa::Kinshasa,
        _ => return None,
    })
}

fn single_zone(region: &str) -> Option<Tz> {
    use chrono_tz::{Africa, America, Asia, Atlantic, Europe, Pacific};
    Some(match region {
        "GB" | "GG" | "JE" | "IM" => Europe::London,
        "IE" => Europe::Dublin,
        "FR" => Europe::Paris,
        "DE" => Europe::Berlin,
        "IT" | "SM" | "VA" => Europe::Rome,
        "NL" => Europe::Amsterdam,
        "BE" => Europe::Brussels,
        "LU" => Europe::Luxembourg,
        "CH" | "LI" => Europe::Zurich,
        "AT" => Europe::Vienna,
        "DK" => Europe::Copenhagen,
        "SE" => Europe::Stockholm,
        "NO" => Europe::Oslo,
        "FI" => Europe::Helsinki,
        "IS" => Atlantic::Reykjavik,
        "PL" => Europe::Warsaw,
        "CZ" => Europe::Prague,
        "SK" => Europe::Bratislava,
        "HU" => Europe::Budapest,
        "RO" => Europe::Bucharest,
        "BG" => Europe::Sofia,
        "GR" => Europe::Athens,
        "HR" => Europe::Zagreb,
        "SI" => Europe::Ljubljana,
        "RS" => Europe::Belgrade,
        "EE" => Europe::Tallinn,
        "LV" => Europe::Riga,
        "LT" => Europe::Vilnius,
        "CY" => Asia::Nicosia,
        "MT" => Europe::Malta,
        "UA" => Europe::Kiev,
        "TR" => Europe::Istanbul,
        "IL" => Asia::Jerusalem,
        "AE" => Asia::Dubai,
        "SA" => Asia::Riyadh,
        "EG" => Africa::Cairo,
        "ZA" => Africa::Johannesburg,
        "NG" => Africa::Lagos,
        "KE" => Africa::Nairobi,
        "MA" => Africa::Casablanca,
        "IN" => Asia::Kolkata,
        "PK" => Asia::Karachi,
        "BD" => Asia::Dhaka,
        "LK" => Asia::Colombo,
        "CN" => Asia::Shanghai,
        "HK" => Asia::Hong_Kong,
        "TW" => Asia::Taipei,
        "JP" => Asia::Tokyo,
        "KR" => Asia::Seoul,
        "SG" => Asia::Singapore,
        "MY" => Asia::Kuala_Lumpur,
        "TH" => Asia::Bangkok,
        "VN" => Asia::Ho_Chi_Minh,
        "PH" => Asia::Manila,
        "NZ" => Pacific::Auckland,
        "CO" => America::Bogota,
        "PE" => America::Lima,
        "VE" => America::Caracas,
        "UY" => America::Montevideo,
        "PY" => America::Asuncion,
        "BO" => America::La_Paz,
        "CR" => America::Costa_Rica,
        "PA" => America::Panama,
        "GT" => America::Guatemala,
        "SV" => America::El_Salvador,
        "HN" => America::Tegucigalpa,
        "NI" => America::Managua,
        "DO" => America::Santo_Domingo,
        "PR" => America::Puerto_Rico,
        "JM" => America::Jamaica,
        "TT" => America::Port_of_Spain,
        "BS" => America::Nassau,
        "BB" => America::Barbados,
        "VI" => America::St_Thomas,
        "GU" | "MP" => Pacific::Guam,
        "AS" => Pacific::Pago_Pago,
        _ => return None,
    })
}

/// NANP area codes outside Eastern time (US) / Toronto time (Canada).
fn nanp_zone(area: &str) -> Option<Tz> {
    use chrono_tz::{America, Pacific};
    let code: u16 = area.parse().ok()?;
    const CENTRAL: &[u16] = &[
        205, 251, 256, 334, 659, 938, // AL
        479, 501, 870, 327, // AR
        217, 224, 309, 312, 331, 447, 464, 618, 630, 708, 730, 773, 779, 815, 847, 872, // IL
        319, 515, 563, 641, 712, // IA
        316, 620, 785, 913, // KS
        225, 318, 337, 504, 985, // LA
        218, 320, 507, 612, 651, 763, 952, // MN
        228, 601, 662, 769, // MS
        314, 417, 557, 573, 636, 660, 816, 975, // MO
        308, 402, 531, // NE
        405, 539, 572, 580, 918, // OK
        605, 701, // SD, ND
        615, 629, 731, 901, // TN (middle, west)
        210, 214, 254, 281, 325, 346, 361, 409, 430, 432, 469, 512, 682, 713, 726, 737, 806, 817,
        830, 832, 903, 936, 940, 945, 956, 972, 979, // TX
        262, 274, 414, 534, 608, 715, 920, // WI
        270, 364, // KY (west)
        219, // IN (northwest)
    ];
    const MOUNTAIN: &[u16] = &[
        303, 719, 720, 970, 983, // CO
        406, 505, 575, 307, // MT, NM, WY
        385, 435, 801, // UT
        208, 986, // ID (south)
        915, // TX (El Paso)
    ];
    const ARIZONA: &[u16] = &[480, 520, 602, 623, 928];
    const PACIFIC: &[u16] = &[
        209, 213, 279, 310, 323, 341, 350, 369, 408, 415, 424, 442, 510, 530, 559, 562, 619, 626,
        628, 650, 657, 661, 669, 707, 714, 747, 760, 805, 818, 820, 831, 840, 858, 909, 916, 925,
        949, 951, // CA
        702, 725, 775, // NV
        458, 503, 541, 971, // OR
        206, 253, 360, 425, 509, 564, // WA
    ];
    // Canada outside Ontario/Quebec.
    const CA_ATLANTIC: &[u16] = &[782, 902, 428, 506];
    const CA_NEWFOUNDLAND: &[u16] = &[709, 879];
    const CA_MANITOBA: &[u16] = &[204, 431, 584];
    const CA_SASKATCHEWAN: &[u16] = &[306, 474, 639];
    const CA_ALBERTA: &[u16] = &[368, 403, 587, 780, 825];
    const CA_BC: &[u16] = &[236, 250, 257, 604, 672, 778];
    let tables: [(&[u16], Tz); 12] = [
        (CENTRAL, America::Chicago),
        (MOUNTAIN, America::Denver),
        (ARIZONA, America::Phoenix),
        (PACIFIC, America::Los_Angeles),
        (&[907], America::Anchorage),
        (&[808], Pacific::Honolulu),
        (CA_ATLANTIC, America::Halifax),
        (CA_NEWFOUNDLAND, America::St_Johns),
        (CA_MANITOBA, America::Winnipeg),
        (CA_SASKATCHEWAN, America::Regina),
        (CA_ALBERTA, America::Edmonton),
        (CA_BC, America::Vancouver),
    ];
    tables
        .iter()
        .find(|(codes, _)| codes.contains(&code))
        .map(|&(_, tz)| tz)
        .or(if code == 867 {
            Some(America::Yellowknife)
        } else {
            None
        })
}

/// Australia: 2 NSW/ACT, 3 VIC/TAS, 7 QLD, 8 SA/NT (8 8…) or WA (8 9…); mobiles (4…) and
/// others have no area.
fn australia_zone(digits: &str) -> Option<Tz> {
    use chrono_tz::Australia;
    let mut chars = digits.chars();
    match (chars.next()?, chars.next()) {
        ('2', _) => Some(Australia::Sydney),
        ('3', _) => Some(Australia::Melbourne),
        ('7', _) => Some(Australia::Brisbane),
        ('8', Some('9')) => Some(Australia::Perth),
        ('8', _) => Some(Australia::Adelaide),
        _ => None,
    }
}

/// Brazil: DDD codes whose zone differs from São Paulo's.
fn brazil_zone(ddd: &str) -> Option<Tz> {
    use chrono_tz::America;
    match ddd {
        "65" | "66" => Some(America::Cuiaba),
        "67" => Some(America::Campo_Grande),
        "68" => Some(America::Rio_Branco),
        "69" => Some(America::Porto_Velho),
        "92" | "97" => Some(America::Manaus),
        "95" => Some(America::Boa_Vista),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::phone::normalise;
    use super::*;
    use phonenumber::country::Id;

    fn zone(raw: &str) -> Option<(Tz, ZoneSource)> {
        zone_for(&normalise(raw, Some(Id::US)).expect(raw))
    }

    #[test]
    fn nanp_area_codes_pick_the_zone() {
        use chrono_tz::America;
        assert_eq!(
            zone("(415) 555-2671"),
            Some((America::Los_Angeles, ZoneSource::AreaCode))
        );
        assert_eq!(zone("(312) 555-0100").map(|z| z.0), Some(America::Chicago));
        assert_eq!(zone("(303) 555-0100").map(|z| z.0), Some(America::Denver));
        assert_eq!(zone("(602) 555-0100").map(|z| z.0), Some(America::Phoenix));
        assert_eq!(
            zone("+1 604 555 0143").map(|z| z.0),
            Some(America::Vancouver)
        );
        // Eastern is the default, and says so.
        assert_eq!(
            zone("(212) 555-0100"),
            Some((America::New_York, ZoneSource::CountryDefault))
        );
    }

    #[test]
    fn other_countries() {
        use chrono_tz::{Australia, Europe};
        assert_eq!(
            zone("+44 20 7946 0018"),
            Some((Europe::London, ZoneSource::Region))
        );
        assert_eq!(zone("+61 8 9123 4567").map(|z| z.0), Some(Australia::Perth));
        assert_eq!(
            zone("+61 412 345 678"),
            Some((Australia::Sydney, ZoneSource::CountryDefault))
        );
        assert_eq!(
            zone("+55 92 3123 4567").map(|z| z.0),
            Some(chrono_tz::America::Manaus)
        );
    }
}
