//! The design canvas's edits, as the page calls them: each takes the editor's text and
//! gives the new text (or the reason it cannot), through `sim_core::design`, which edits
//! the text in place so its comments and layout stay.

use sim_core::design;
use wasm_bindgen::prelude::*;

fn js(result: Result<String, String>) -> Result<String, JsValue> {
    result.map_err(|message| JsValue::from_str(&message))
}

/// The kinds the palette offers: a JSON array of `[kind, template]`.
#[wasm_bindgen]
pub fn design_templates() -> String {
    serde_json::to_string(&design::NODE_TEMPLATES).expect("templates serialize")
}

/// The text a new, empty design starts from.
#[wasm_bindgen]
pub fn design_empty() -> String {
    design::EMPTY_DESIGN.to_string()
}

/// Adds a node of `kind`: `{"text", "name"}` as JSON.
#[wasm_bindgen]
pub fn design_add_node(text: &str, kind: &str) -> Result<String, JsValue> {
    js(design::add_node(text, kind).map(|(text, name)| serde_json::json!({ "text": text, "name": name }).to_string()))
}

/// Adds a workload sending to `to` (may be empty): `{"text", "name"}` as JSON.
#[wasm_bindgen]
pub fn design_add_workload(text: &str, to: &str) -> Result<String, JsValue> {
    js(design::add_workload(text, to).map(|(text, name)| serde_json::json!({ "text": text, "name": name }).to_string()))
}

/// Connects `from` (a workload or a node) to node `to`.
#[wasm_bindgen]
pub fn design_connect(text: &str, from: &str, to: &str) -> Result<String, JsValue> {
    js(design::connect(text, from, to))
}

/// Removes the workload or node `name`.
#[wasm_bindgen]
pub fn design_remove(text: &str, name: &str) -> Result<String, JsValue> {
    let sketch = design::sketch(text).map_err(|message| JsValue::from_str(&message))?;
    if sketch.workloads.iter().any(|workload| workload.name == name) {
        js(design::remove_workload(text, name))
    } else {
        js(design::remove_node(text, name))
    }
}

/// A node's fields as written: a JSON array of `[field, value text]`.
#[wasm_bindgen]
pub fn design_fields(text: &str, name: &str) -> Result<String, JsValue> {
    js(design::node_fields(text, name).map(|fields| serde_json::to_string(&fields).expect("fields serialize")))
}

/// Sets (or adds) a node's field to `value` as typed.
#[wasm_bindgen]
pub fn design_set_field(text: &str, name: &str, field: &str, value: &str) -> Result<String, JsValue> {
    js(design::set_node_field(text, name, field, value))
}
