//! The price table of `[telemetry.genai.prices]`: per model, per million input and output
//! tokens, set at install. A model call whose client reports no cost is priced from it.

use std::sync::RwLock;

/// One model's prices.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Price {
    pub(crate) model: String,
    pub(crate) input_per_million: f64,
    pub(crate) output_per_million: f64,
    pub(crate) currency: String,
}

static PRICES: RwLock<Vec<Price>> = RwLock::new(Vec::new());

/// Replaces the table (at install).
pub(crate) fn set(prices: Vec<Price>) {
    match PRICES.write() {
        Ok(mut table) => *table = prices,
        Err(poisoned) => *poisoned.into_inner() = prices,
    }
}

/// The cost and currency of `input` and `output` tokens of the first of `models` that has a
/// price (the response model, then the request model).
pub(crate) fn cost(models: &[Option<&str>], input: u64, output: u64) -> Option<(f64, String)> {
    let table = match PRICES.read() {
        Ok(table) => table,
        Err(poisoned) => poisoned.into_inner(),
    };
    if table.is_empty() {
        return None;
    }
    models.iter().flatten().find_map(|model| {
        table.iter().find(|p| p.model == *model).map(|p| {
            (
                input as f64 / 1e6 * p.input_per_million
                    + output as f64 / 1e6 * p.output_per_million,
                p.currency.clone(),
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_response_model_is_priced_first_then_the_request_model() {
        set(vec![
            Price {
                model: "gpt-4o".into(),
                input_per_million: 2.5,
                output_per_million: 10.0,
                currency: "USD".into(),
            },
            Price {
                model: "gpt-4o-2024-08-06".into(),
                input_per_million: 5.0,
                output_per_million: 20.0,
                currency: "EUR".into(),
            },
        ]);
        let (amount, currency) = cost(
            &[Some("gpt-4o-2024-08-06"), Some("gpt-4o")],
            1_000_000,
            500_000,
        )
        .unwrap_or_else(|| panic!("priced"));
        assert_eq!((amount, currency.as_str()), (15.0, "EUR"));
        let (amount, _) = cost(&[Some("unknown"), Some("gpt-4o")], 2_000, 1_000)
            .unwrap_or_else(|| panic!("priced"));
        assert!((amount - 0.015).abs() < 1e-12);
        assert_eq!(cost(&[Some("unknown"), None], 10, 10), None);
        set(Vec::new());
    }
}
