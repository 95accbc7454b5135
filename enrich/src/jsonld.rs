//! Organisations described in a page's schema.org JSON-LD (`<script type="application/ld+json">`).
//!
//! When a site publishes structured data, it is the most exact statement of its legal name,
//! address, identifiers and social profiles. Real-world JSON-LD is messy: Yoast-style `@graph`s,
//! arrays, values that are a string on one site and an object on the next, HTML comments around
//! the JSON, raw newlines inside strings. This module reads all of that, skips what it cannot
//! parse, and flattens each organisation into one plain record.

use serde_json::{Map, Value};

/// A schema.org Organization (or LocalBusiness, Corporation, …) flattened to text fields.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Organization {
    /// `@type` values without a schema.org prefix, e.g. ["Organization"], ["LocalBusiness", "Store"].
    pub types: Vec<String>,
    pub name: Option<String>,
    pub legal_name: Option<String>,
    pub url: Option<String>,
    pub telephone: Option<String>,
    pub email: Option<String>,
    /// One line: "street, postcode locality, country" with the parts that are present.
    pub address: Option<String>,
    pub postal_code: Option<String>,
    pub locality: Option<String>,
    pub country: Option<String>,
    pub same_as: Vec<String>,
    pub founding_date: Option<String>,
    /// "250", or "11-50" from a QuantitativeValue range.
    pub number_of_employees: Option<String>,
    pub vat_id: Option<String>,
    pub tax_id: Option<String>,
    pub duns: Option<String>,
    pub lei: Option<String>,
    pub logo: Option<String>,
}

/// Nesting depth beyond which a document is not followed (hostile or broken input).
const MAX_DEPTH: usize = 16;

/// Organisation types that do not end in one of [`ORGANIZATION_SUFFIXES`]: schema.org
/// Organization subtypes and the common LocalBusiness subtypes.
const ORGANIZATION_TYPES: &[&str] = &[
    "organization",
    "corporation",
    "ngo",
    "airline",
    "consortium",
    "librarysystem",
    "workersunion",
    "localbusiness",
    "professionalservice",
    "financialservice",
    "emergencyservice",
    "legalservice",
    "accountingservice",
    "restaurant",
    "fastfoodrestaurant",
    "bakery",
    "barorpub",
    "brewery",
    "winery",
    "distillery",
    "cafeorcoffeeshop",
    "icecreamshop",
    "foodestablishment",
    "hotel",
    "motel",
    "hostel",
    "bedandbreakfast",
    "resort",
    "autodealer",
    "autorepair",
    "dentist",
    "physician",
    "hospital",
    "pharmacy",
    "optician",
    "medicalclinic",
    "veterinarycare",
    "attorney",
    "notary",
    "realestateagent",
    "travelagency",
    "insuranceagency",
    "employmentagency",
    "bankorcreditunion",
    "governmentoffice",
    "library",
    "childcare",
    "drycleaningorlaundry",
    "generalcontractor",
    "electrician",
    "plumber",
    "roofingcontractor",
    "housepainter",
    "locksmith",
    "movingcompany",
    "shoppingcenter",
    "selfstorage",
    "touristinformationcenter",
    "radiostation",
    "televisionstation",
    "internetcafe",
    "recyclingcenter",
    "animalshelter",
    "healthclub",
    "sportsclub",
    "golfcourse",
    "skiresort",
    "beautysalon",
    "hairsalon",
    "dayspa",
    "nailsalon",
    "tattooparlor",
    "collegeoruniversity",
    "school",
    "preschool",
    "elementaryschool",
    "middleschool",
    "highschool",
];
/// Type-name endings that mark an organisation: "EducationalOrganization", "OnlineBusiness",
/// "HomeAndConstructionBusiness", "ElectronicsStore", "OnlineStore", …
const ORGANIZATION_SUFFIXES: &[&str] = &["organization", "business", "store"];

fn is_organization_type(t: &str) -> bool {
    let t = t.to_ascii_lowercase();
    ORGANIZATION_TYPES.contains(&t.as_str()) || ORGANIZATION_SUFFIXES.iter().any(|s| t.ends_with(s))
}

fn strip_schema_prefix(t: &str) -> &str {
    let t = t.trim();
    for prefix in [
        "https://schema.org/",
        "http://schema.org/",
        "https://www.schema.org/",
        "http://www.schema.org/",
        "schema:",
    ] {
        if let Some(rest) = t.strip_prefix(prefix) {
            return rest;
        }
    }
    t
}

fn types_of(obj: &Map<String, Value>) -> Vec<String> {
    let mut types = Vec::new();
    let mut add = |v: &Value| {
        if let Some(s) = v.as_str() {
            let t = strip_schema_prefix(s);
            if !t.is_empty() && !types.iter().any(|x| x == t) {
                types.push(t.to_string());
            }
        }
    };
    match obj.get("@type") {
        Some(Value::Array(items)) => items.iter().for_each(&mut add),
        Some(v) => add(v),
        None => {}
    }
    types
}

/// The text of a value: a string, a number, the first usable element of an array, or the
/// `@value` of a typed literal.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => {
            let s = s.trim();
            (!s.is_empty()).then(|| s.to_string())
        }
        Value::Number(n) => Some(number_text(n)),
        Value::Array(items) => items.iter().find_map(text),
        Value::Object(o) => o.get("@value").and_then(text),
        _ => None,
    }
}

/// 250.0 is written "250".
fn number_text(n: &serde_json::Number) -> String {
    match n.as_f64() {
        Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
        _ => n.to_string(),
    }
}

fn field(obj: &Map<String, Value>, key: &str) -> Option<String> {
    obj.get(key).and_then(text)
}

/// A value that may be a string or an object carrying the text under one of `keys`
/// (`{"@type": "Country", "name": "FR"}`, `{"@type": "ImageObject", "url": "…"}`).
fn text_or_object(v: &Value, keys: &[&str]) -> Option<String> {
    match v {
        Value::Object(o) => keys.iter().find_map(|k| o.get(*k).and_then(text)),
        Value::Array(items) => items.iter().find_map(|i| text_or_object(i, keys)),
        v => text(v),
    }
}

fn employees(v: &Value) -> Option<String> {
    match v {
        Value::Object(o) => {
            field(o, "value").or_else(|| match (field(o, "minValue"), field(o, "maxValue")) {
                (Some(min), Some(max)) => Some(format!("{min}-{max}")),
                (min, max) => min.or(max),
            })
        }
        Value::Array(items) => items.iter().find_map(employees),
        v => text(v),
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let items: Vec<&Value> = match v {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(v) => vec![v],
        None => Vec::new(),
    };
    for item in items {
        if let Some(s) = text_or_object(item, &["url", "@id"]) {
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    out
}

/// Fills the address fields from a string or a PostalAddress (the first one of an array).
fn set_address(org: &mut Organization, v: &Value) {
    match v {
        Value::Array(items) => {
            if let Some(first) = items.iter().find(|i| i.is_object() || i.is_string()) {
                set_address(org, first);
            }
        }
        Value::Object(o) => {
            let street = field(o, "streetAddress");
            org.postal_code = field(o, "postalCode");
            org.locality = field(o, "addressLocality");
            org.country = o
                .get("addressCountry")
                .and_then(|c| text_or_object(c, &["name", "identifier", "@id"]));
            let town = [org.postal_code.clone(), org.locality.clone()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            let parts: Vec<String> = [street, Some(town), org.country.clone()]
                .into_iter()
                .flatten()
                .filter(|p| !p.is_empty())
                .collect();
            org.address = (!parts.is_empty()).then(|| parts.join(", "));
        }
        v => org.address = text(v),
    }
}

fn organization(obj: &Map<String, Value>, types: Vec<String>) -> Organization {
    let contact = obj.get("contactPoint");
    let from_contact = |key: &str| match contact {
        Some(Value::Object(o)) => field(o, key),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_object)
            .find_map(|o| field(o, key)),
        _ => None,
    };
    let mut org = Organization {
        types,
        name: field(obj, "name"),
        legal_name: field(obj, "legalName"),
        url: obj
            .get("url")
            .and_then(|v| text_or_object(v, &["@id", "url"])),
        telephone: field(obj, "telephone").or_else(|| from_contact("telephone")),
        email: field(obj, "email")
            .or_else(|| from_contact("email"))
            .map(|e| {
                let e = e.trim();
                e.strip_prefix("mailto:").unwrap_or(e).to_string()
            }),
        same_as: strings(obj.get("sameAs")),
        founding_date: field(obj, "foundingDate"),
        number_of_employees: obj.get("numberOfEmployees").and_then(employees),
        vat_id: field(obj, "vatID"),
        tax_id: field(obj, "taxID"),
        duns: field(obj, "duns"),
        lei: field(obj, "leiCode"),
        logo: obj
            .get("logo")
            .and_then(|v| text_or_object(v, &["url", "contentUrl", "@id"])),
        ..Organization::default()
    };
    if let Some(address) = obj.get("address") {
        set_address(&mut org, address);
    }
    org
}

fn visit(v: &Value, depth: usize, out: &mut Vec<Organization>) {
    if depth > MAX_DEPTH {
        return;
    }
    match v {
        Value::Array(items) => {
            for item in items {
                visit(item, depth + 1, out);
            }
        }
        Value::Object(obj) => {
            let types = types_of(obj);
            if types.iter().any(|t| is_organization_type(t)) {
                let org = organization(obj, types);
                if !out.contains(&org) {
                    out.push(org);
                }
            }
            // Organisations also sit in @graph, publisher, provider, author, brand,
            // parentOrganization, hiringOrganization, mainEntity, …
            for (key, child) in obj {
                if matches!(child, Value::Object(_) | Value::Array(_)) && key != "@context" {
                    visit(child, depth + 1, out);
                }
            }
        }
        _ => {}
    }
}

/// Removes the wrappers CMSs put around JSON-LD: HTML comments and CDATA sections.
fn unwrap_script(body: &str) -> &str {
    let mut s = body.trim();
    loop {
        let before = s;
        for (open, close) in [
            ("<!--", "-->"),
            ("//<![CDATA[", "//]]>"),
            ("<![CDATA[", "]]>"),
        ] {
            if let Some(rest) = s.strip_prefix(open) {
                s = rest.strip_suffix(close).unwrap_or(rest).trim();
            }
        }
        if s == before {
            return s;
        }
    }
}

/// Every JSON value in `s` (several may follow each other), or none if it does not parse.
fn parse_values(s: &str) -> Vec<Value> {
    serde_json::Deserializer::from_str(s)
        .into_iter::<Value>()
        .map_while(Result::ok)
        .collect()
}

/// Drops commas before a closing bracket or brace, outside strings.
fn without_trailing_commas(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        } else if c == ',' {
            let next = s[i + 1..].trim_start().chars().next();
            if matches!(next, Some('}' | ']')) {
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// Organisations in the bodies of a page's `<script type="application/ld+json">` elements:
/// top-level objects, arrays, `@graph` members and nested objects (publisher, provider, author,
/// brand, …) whose `@type` is Organization, Corporation, NGO, LocalBusiness or a subtype.
/// Bodies that are not JSON are skipped after trying to repair HTML comment and CDATA
/// wrappers, raw control characters in strings and trailing commas. Identical organisations
/// are reported once.
pub fn organizations(script_bodies: &[&str]) -> Vec<Organization> {
    let mut out = Vec::new();
    for body in script_bodies {
        let body = unwrap_script(body);
        let mut values = parse_values(body);
        if values.is_empty() {
            // Raw newlines and tabs inside strings are the most common breakage.
            let repaired: String = body
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            values = parse_values(&repaired);
            if values.is_empty() {
                values = parse_values(&without_trailing_commas(&repaired));
            }
        }
        for v in &values {
            visit(v, 0, &mut out);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const YOAST: &str = r#"{"@context":"https://schema.org","@graph":[
        {"@type":"WebPage","@id":"https://acme.fr/#webpage","url":"https://acme.fr/",
         "publisher":{"@id":"https://acme.fr/#organization"}},
        {"@type":"WebSite","@id":"https://acme.fr/#website","name":"Acme"},
        {"@type":"Organization","@id":"https://acme.fr/#organization","name":"Acme",
         "url":"https://acme.fr/",
         "logo":{"@type":"ImageObject","@id":"https://acme.fr/#logo","url":"https://acme.fr/logo.png","width":512},
         "sameAs":["https://www.linkedin.com/company/acme","https://twitter.com/acme"]}
    ]}"#;

    #[test]
    fn yoast_graph() {
        let orgs = organizations(&[YOAST]);
        assert_eq!(orgs.len(), 1);
        let o = &orgs[0];
        assert_eq!(o.types, ["Organization"]);
        assert_eq!(o.name.as_deref(), Some("Acme"));
        assert_eq!(o.url.as_deref(), Some("https://acme.fr/"));
        assert_eq!(o.logo.as_deref(), Some("https://acme.fr/logo.png"));
        assert_eq!(
            o.same_as,
            [
                "https://www.linkedin.com/company/acme",
                "https://twitter.com/acme"
            ]
        );
        assert_eq!(o.address, None);
    }

    #[test]
    fn local_business_with_address() {
        let body = r#"{"@context":"http://schema.org","@type":["LocalBusiness","ProfessionalService"],
            "name":"Cabinet Dupont","legalName":"Dupont Conseil SARL",
            "telephone":"+33 1 23 45 67 89","email":"mailto:contact@dupont.fr",
            "address":{"@type":"PostalAddress","streetAddress":"12 rue de la Paix",
                       "postalCode":"75002","addressLocality":"Paris",
                       "addressCountry":{"@type":"Country","name":"FR"}},
            "sameAs":"https://www.facebook.com/dupont","foundingDate":"1998-03-01",
            "vatID":"FR96552100554","taxID":"552100554","duns":"123456789",
            "leiCode":"HWUPKR0MPOU8FGXBT394"}"#;
        let orgs = organizations(&[body]);
        assert_eq!(orgs.len(), 1);
        let o = &orgs[0];
        assert_eq!(o.types, ["LocalBusiness", "ProfessionalService"]);
        assert_eq!(o.legal_name.as_deref(), Some("Dupont Conseil SARL"));
        assert_eq!(o.telephone.as_deref(), Some("+33 1 23 45 67 89"));
        assert_eq!(o.email.as_deref(), Some("contact@dupont.fr"));
        assert_eq!(
            o.address.as_deref(),
            Some("12 rue de la Paix, 75002 Paris, FR")
        );
        assert_eq!(o.postal_code.as_deref(), Some("75002"));
        assert_eq!(o.locality.as_deref(), Some("Paris"));
        assert_eq!(o.country.as_deref(), Some("FR"));
        assert_eq!(o.same_as, ["https://www.facebook.com/dupont"]);
        assert_eq!(o.founding_date.as_deref(), Some("1998-03-01"));
        assert_eq!(o.vat_id.as_deref(), Some("FR96552100554"));
        assert_eq!(o.tax_id.as_deref(), Some("552100554"));
        assert_eq!(o.duns.as_deref(), Some("123456789"));
        assert_eq!(o.lei.as_deref(), Some("HWUPKR0MPOU8FGXBT394"));
    }

    #[test]
    fn employees_forms() {
        let body = r#"[
            {"@type":"Organization","name":"A","numberOfEmployees":250},
            {"@type":"Organization","name":"B","numberOfEmployees":{"@type":"QuantitativeValue","value":"40"}},
            {"@type":"Organization","name":"C","numberOfEmployees":{"@type":"QuantitativeValue","minValue":11,"maxValue":50}},
            {"@type":"Organization","name":"D","numberOfEmployees":"1000+"},
            {"@type":"Organization","name":"E","numberOfEmployees":12.0}
        ]"#;
        let got: Vec<Option<String>> = organizations(&[body])
            .into_iter()
            .map(|o| o.number_of_employees)
            .collect();
        let want = ["250", "40", "11-50", "1000+", "12"].map(|s| Some(s.to_string()));
        assert_eq!(got, want);
    }

    #[test]
    fn nested_publisher_and_address_string() {
        let body = r#"{"@type":"NewsArticle","headline":"Launch",
            "author":{"@type":"Person","name":"Jane"},
            "publisher":{"@type":"Organization","name":"Acme Media",
                         "address":"1 Main St, Springfield",
                         "contactPoint":[{"@type":"ContactPoint","telephone":"+1 415 555 0100"}]}}"#;
        let orgs = organizations(&[body]);
        assert_eq!(orgs.len(), 1);
        assert_eq!(orgs[0].name.as_deref(), Some("Acme Media"));
        assert_eq!(orgs[0].address.as_deref(), Some("1 Main St, Springfield"));
        assert_eq!(orgs[0].locality, None);
        assert_eq!(orgs[0].telephone.as_deref(), Some("+1 415 555 0100"));
    }

    #[test]
    fn accepted_and_rejected_types() {
        for t in [
            "Organization",
            "Corporation",
            "NGO",
            "EducationalOrganization",
            "OnlineBusiness",
            "OnlineStore",
            "Restaurant",
            "HomeAndConstructionBusiness",
            "https://schema.org/Organization",
        ] {
            let body = format!(r#"{{"@type":"{t}","name":"X"}}"#);
            assert_eq!(organizations(&[&body]).len(), 1, "{t}");
        }
        for t in [
            "Service", "Person", "WebSite", "Product", "Brand", "Place", "",
        ] {
            let body = format!(r#"{{"@type":"{t}","name":"X"}}"#);
            assert!(organizations(&[&body]).is_empty(), "{t}");
        }
        assert!(organizations(&[r#"{"name":"No type"}"#]).is_empty());
    }

    #[test]
    fn broken_and_wrapped_json() {
        let org = r#"{"@type":"Organization","name":"Acme"}"#;
        let bodies = [
            "{not json at all",
            "",
            "<!-- {\"@type\":\"Organization\",\"name\":\"Acme\"} -->",
            "//<![CDATA[\n{\"@type\":\"Organization\",\"name\":\"Acme\"}\n//]]>",
            org,
        ];
        let orgs = organizations(&bodies);
        assert_eq!(
            orgs.len(),
            1,
            "identical organisations are merged: {orgs:?}"
        );
        let raw_newline = "{\"@type\":\"Organization\",\"name\":\"Acme\nSAS\"}";
        assert_eq!(
            organizations(&[raw_newline])[0].name.as_deref(),
            Some("Acme SAS")
        );
        let trailing = r#"{"@type":"Organization","name":"Acme, Inc.","sameAs":["a","b",],}"#;
        let orgs = organizations(&[trailing]);
        assert_eq!(orgs[0].name.as_deref(), Some("Acme, Inc."));
        assert_eq!(orgs[0].same_as, ["a", "b"]);
    }

    #[test]
    fn depth_limit() {
        let mut deep = String::new();
        for _ in 0..100 {
            deep.push_str(r#"{"x":"#);
        }
        deep.push_str(r#"{"@type":"Organization","name":"Deep"}"#);
        deep.push_str(&"}".repeat(100));
        assert!(organizations(&[&deep]).is_empty());
        let shallow = r#"{"a":{"b":{"@type":"Organization","name":"Shallow"}}}"#;
        assert_eq!(organizations(&[shallow]).len(), 1);
    }

    #[test]
    fn distinct_organisations_are_kept() {
        let body = r#"[{"@type":"Organization","name":"A"},{"@type":"Organization","name":"B"},
                       {"@type":"Organization","name":"A"}]"#;
        let names: Vec<String> = organizations(&[body])
            .into_iter()
            .filter_map(|o| o.name)
            .collect();
        assert_eq!(names, ["A", "B"]);
    }
}
