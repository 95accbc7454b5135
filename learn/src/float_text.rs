//! Serde for `f64` fields that may hold a non-finite value (a tree split at `+∞`), which JSON
//! has no number for: finite values are written as numbers, `inf`, `-inf` and `NaN` as those
//! strings, so that a model written to JSON and read back holds the same bits.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Text {
    Number(f64),
    Word(String),
}

fn to_text(x: f64) -> Text {
    if x.is_finite() {
        Text::Number(x)
    } else if x.is_nan() {
        Text::Word("NaN".into())
    } else if x > 0.0 {
        Text::Word("inf".into())
    } else {
        Text::Word("-inf".into())
    }
}

fn from_text<E: serde::de::Error>(t: Text) -> Result<f64, E> {
    match t {
        Text::Number(x) => Ok(x),
        Text::Word(w) => match w.as_str() {
            "inf" => Ok(f64::INFINITY),
            "-inf" => Ok(f64::NEG_INFINITY),
            "NaN" => Ok(f64::NAN),
            other => Err(E::custom(format!(
                "expected a number, \"inf\", \"-inf\" or \"NaN\", got {other:?}"
            ))),
        },
    }
}

pub fn serialize<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
    to_text(*x).serialize(s)
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    from_text(Text::deserialize(d)?)
}

#[cfg(test)]
mod tests {
    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct T {
        #[serde(with = "super")]
        x: f64,
        #[serde(with = "super::vec")]
        v: Vec<f64>,
    }

    #[test]
    fn non_finite_values_survive_json() {
        let t = T {
            x: f64::INFINITY,
            v: vec![0.1 + 0.2, f64::NEG_INFINITY, -0.0, 1e300],
        };
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(
            json,
            r#"{"x":"inf","v":[0.30000000000000004,"-inf",-0.0,1e+300]}"#
        );
        let back: T = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t);
        assert!(back.v[2].is_sign_negative());
        let nan: T = serde_json::from_str(r#"{"x":"NaN","v":[]}"#).unwrap();
        assert!(nan.x.is_nan());
        let err = serde_json::from_str::<T>(r#"{"x":"big","v":[]}"#).unwrap_err();
        assert!(err.to_string().contains("got \"big\""), "{err}");
    }
}

/// The same for a vector of floats.
pub mod vec {
    use super::*;

    pub fn serialize<S: Serializer>(xs: &[f64], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(xs.iter().map(|&x| to_text(x)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        Vec::<Text>::deserialize(d)?
            .into_iter()
            .map(from_text)
            .collect()
    }
}
