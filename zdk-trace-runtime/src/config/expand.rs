//! `${VAR}` in the OTLP header values of a file, replaced from the environment when the layers
//! are resolved, so API keys need not be written into the file.

/// Why a template could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ExpandError {
    /// `${` without its `}`.
    Unterminated,
    /// `${…}` whose name is not a variable name (letters, digits, `_`; not starting with a digit).
    BadName(String),
    /// The variable is not set, or is empty.
    Missing(String),
}

impl ExpandError {
    /// What a template must look like, for syntax errors.
    pub(crate) const EXPECTED: &'static str = "a string where each `${NAME}` names an environment \
         variable (`NAME`: letters, digits, `_`) and `$${` writes a literal `${`";
}

/// Replaces each `${NAME}` with `lookup(NAME)`; `$${` is a literal `${`, and any other `$` is
/// kept as-is.
pub(crate) fn expand(
    template: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ExpandError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        if let Some(tail) = after.strip_prefix("${") {
            out.push_str("${");
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body.find('}').ok_or(ExpandError::Unterminated)?;
            let name = &body[..end];
            if !is_var_name(name) {
                return Err(ExpandError::BadName(name.to_owned()));
            }
            let value = lookup(name)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| ExpandError::Missing(name.to_owned()))?;
            out.push_str(&value);
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Checks the syntax only: every `${…}` is closed and names a variable.
#[cfg(feature = "config-file")]
pub(crate) fn check(template: &str) -> Result<(), ExpandError> {
    expand(template, &|_| Some("x".to_owned())).map(|_| ())
}

fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
// Tests panic on failure by design.
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "KEY" => Some("s3cr3t".to_owned()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn expands_variables() {
        assert_eq!(expand("Bearer ${KEY}", &env).unwrap(), "Bearer s3cr3t");
        assert_eq!(expand("${KEY}${KEY}", &env).unwrap(), "s3cr3ts3cr3t");
        assert_eq!(expand("plain", &env).unwrap(), "plain");
    }

    #[test]
    fn dollar_escapes() {
        assert_eq!(expand("$${KEY}", &env).unwrap(), "${KEY}");
        assert_eq!(expand("a$b$", &env).unwrap(), "a$b$");
    }

    #[test]
    fn errors() {
        assert_eq!(
            expand("${NOPE}", &env),
            Err(ExpandError::Missing("NOPE".to_owned()))
        );
        assert_eq!(
            expand("${EMPTY}", &env),
            Err(ExpandError::Missing("EMPTY".to_owned()))
        );
        assert_eq!(expand("${KEY", &env), Err(ExpandError::Unterminated));
        assert_eq!(
            expand("${1X}", &env),
            Err(ExpandError::BadName("1X".to_owned()))
        );
        assert_eq!(
            expand("${}", &env),
            Err(ExpandError::BadName(String::new()))
        );
        assert!(check("${A_1}").is_ok());
    }
}
