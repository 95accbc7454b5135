//! Company identifiers: parse, normalise and validate with their check digits.
//!
//! An identifier makes registry matching exact, so a wrong one is worse than none: every
//! function here returns the canonical form or says precisely why the value is not valid.
//! Spaces, dots and dashes that CRM exports put inside numbers are accepted and removed.

/// Why an identifier was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdError {
    #[error("{kind} must have {expected} digits, got {got:?}")]
    Length {
        kind: &'static str,
        expected: usize,
        got: String,
    },
    #[error("{kind} must contain only digits, got {got:?}")]
    NotDigits { kind: &'static str, got: String },
    #[error("{kind} {got:?} fails its check digit")]
    Checksum { kind: &'static str, got: String },
    #[error("{kind} has an invalid format: {got:?}")]
    Format { kind: &'static str, got: String },
}

fn compact(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '.' | '-' | '\u{a0}'))
        .collect()
}

/// Luhn sum check (ISO/IEC 7812), as used by SIREN and SIRET.
fn luhn_ok(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = (b - b'0') as u32;
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn digits_of(kind: &'static str, raw: &str, len: usize) -> Result<String, IdError> {
    let s = compact(raw);
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(IdError::NotDigits {
            kind,
            got: raw.trim().to_string(),
        });
    }
    if s.len() != len {
        return Err(IdError::Length {
            kind,
            expected: len,
            got: raw.trim().to_string(),
        });
    }
    Ok(s)
}

/// A French SIREN (9 digits, Luhn). Returns the 9 digits.
pub fn normalize_siren(raw: &str) -> Result<String, IdError> {
    let s = digits_of("SIREN", raw, 9)?;
    if !luhn_ok(&s) {
        return Err(IdError::Checksum {
            kind: "SIREN",
            got: s,
        });
    }
    Ok(s)
}

/// La Poste's establishments do not follow Luhn: their SIRET digit sum is a multiple of 5.
const LA_POSTE_SIREN: &str = "356000000";

/// A French SIRET (14 digits: SIREN + NIC, Luhn over all 14). Returns the 14 digits.
pub fn normalize_siret(raw: &str) -> Result<String, IdError> {
    let s = digits_of("SIRET", raw, 14)?;
    let ok = if s.starts_with(LA_POSTE_SIREN) {
        luhn_ok(&s)
            || s.bytes()
                .map(|b| (b - b'0') as u32)
                .sum::<u32>()
                .is_multiple_of(5)
    } else {
        luhn_ok(&s) && luhn_ok(&s[..9])
    };
    if !ok {
        return Err(IdError::Checksum {
            kind: "SIRET",
            got: s,
        });
    }
    Ok(s)
}

/// A Legal Entity Identifier (ISO 17442: 20 alphanumerics, ISO 7064 mod 97-10 check = 1).
/// Returns it upper-cased.
pub fn normalize_lei(raw: &str) -> Result<String, IdError> {
    let s = compact(raw).to_ascii_uppercase();
    if s.len() != 20 {
        return Err(IdError::Length {
            kind: "LEI",
            expected: 20,
            got: raw.trim().to_string(),
        });
    }
    if !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(IdError::Format {
            kind: "LEI",
            got: raw.trim().to_string(),
        });
    }
    if !s[18..].bytes().all(|b| b.is_ascii_digit()) {
        return Err(IdError::Format {
            kind: "LEI",
            got: raw.trim().to_string(),
        });
    }
    let mut rem: u32 = 0;
    for b in s.bytes() {
        let v = if b.is_ascii_digit() {
            (b - b'0') as u32
        } else {
            (b - b'A') as u32 + 10
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    if rem != 1 {
        return Err(IdError::Checksum {
            kind: "LEI",
            got: s,
        });
    }
    Ok(s)
}

/// A SEC Central Index Key: 1 to 10 digits. Returns it zero-padded to 10 digits, the form EDGAR
/// uses in its URLs (`CIK0000320193`). A `CIK` prefix is accepted.
pub fn normalize_cik(raw: &str) -> Result<String, IdError> {
    let s = compact(raw);
    let s = s
        .strip_prefix("CIK")
        .or_else(|| s.strip_prefix("cik"))
        .unwrap_or(&s);
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(IdError::NotDigits {
            kind: "CIK",
            got: raw.trim().to_string(),
        });
    }
    let trimmed = s.trim_start_matches('0');
    if trimmed.is_empty() || trimmed.len() > 10 {
        return Err(IdError::Format {
            kind: "CIK",
            got: raw.trim().to_string(),
        });
    }
    Ok(format!("{trimmed:0>10}"))
}

/// A UK Companies House number: 8 characters, either 8 digits (shorter numbers are zero-padded)
/// or a two-letter prefix (SC, NI, OC, …) and 6 digits. Returns it upper-cased.
pub fn normalize_uk_company_number(raw: &str) -> Result<String, IdError> {
    let s = compact(raw).to_ascii_uppercase();
    if !s.is_empty() && s.len() <= 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(format!("{s:0>8}"));
    }
    let b = s.as_bytes();
    if s.len() == 8
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && b[2..].iter().all(u8::is_ascii_digit)
    {
        return Ok(s);
    }
    Err(IdError::Format {
        kind: "UK company number",
        got: raw.trim().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn siren_and_siret() {
        // Real public identifiers: SIREN 552 100 554 and one of its SIRETs.
        assert_eq!(normalize_siren("552 032 534").unwrap(), "552032534");
        assert!(matches!(
            normalize_siren("552100555"),
            Err(IdError::Checksum { .. })
        ));
        assert!(matches!(
            normalize_siren("55203253"),
            Err(IdError::Length { .. })
        ));
        assert!(matches!(
            normalize_siren("55203253A"),
            Err(IdError::NotDigits { .. })
        ));
        assert_eq!(
            normalize_siret("552 100 554 00013").unwrap(),
            "55210055400013"
        );
        assert!(matches!(
            normalize_siret("55210055400014"),
            Err(IdError::Checksum { .. })
        ));
        // La Poste: digit sum multiple of 5, not Luhn.
        assert!(normalize_siret("35600000000001").is_ok());
    }

    #[test]
    fn lei() {
        // Apple Inc. and Société Générale LEIs.
        assert_eq!(
            normalize_lei("HWUPKR0MPOU8FGXBT394").unwrap(),
            "HWUPKR0MPOU8FGXBT394"
        );
        assert_eq!(
            normalize_lei("o2rne8ibxp4r0td8pu41").unwrap(),
            "O2RNE8IBXP4R0TD8PU41"
        );
        assert!(matches!(
            normalize_lei("HWUPKR0MPOU8FGXBT395"),
            Err(IdError::Checksum { .. })
        ));
        assert!(matches!(
            normalize_lei("HWUPKR0MPOU8FGX"),
            Err(IdError::Length { .. })
        ));
    }

    #[test]
    fn cik_and_company_number() {
        assert_eq!(normalize_cik("320193").unwrap(), "0000320193");
        assert_eq!(normalize_cik("CIK0000320193").unwrap(), "0000320193");
        assert!(normalize_cik("12a").is_err());
        assert!(normalize_cik("0").is_err());
        assert_eq!(normalize_uk_company_number("2065").unwrap(), "00002065");
        assert_eq!(normalize_uk_company_number("sc123456").unwrap(), "SC123456");
        assert!(normalize_uk_company_number("ABC").is_err());
    }
}
