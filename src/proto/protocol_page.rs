//! `docs/protocol.md`, compiled in: its fenced examples are the protocol's
//! examples wherever they are published (the AsyncAPI document takes each
//! message type's first one), and tests decode every one with the real codec.
//! A block's info string says what it is: ```` ```json client ```` /
//! ```` ```json server ```` for one message as JSON, followed by its
//! ```` ```msgpack-hex … ```` twin, and ```` ```json invalid <code> ```` for a frame
//! the server refuses.

use serde_json::Value;

use super::TYPE_TAG;

/// The page.
pub(crate) const PROTOCOL_MD: &str = include_str!("../../docs/protocol.md");

/// One fenced block of the page.
#[derive(Debug)]
pub(crate) struct FencedBlock {
    /// Info string after the opening fence (`json client`).
    pub(crate) info: String,
    /// Text between the fences.
    pub(crate) body: String,
    /// 1-based line of the opening fence, for the page tests' failure messages.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) line: usize,
}

/// The fenced blocks of `markdown`, in order; `None` when a fence is left open.
pub(crate) fn fenced_blocks(markdown: &str) -> Option<Vec<FencedBlock>> {
    let mut blocks = Vec::new();
    let mut open: Option<FencedBlock> = None;
    for (index, line) in markdown.lines().enumerate() {
        let Some(fence_rest) = line.strip_prefix("```") else {
            if let Some(block) = open.as_mut() {
                block.body.push_str(line);
                block.body.push('\n');
            }
            continue;
        };
        match open.take() {
            Some(block) => blocks.push(block),
            None => {
                open = Some(FencedBlock {
                    info: fence_rest.trim().to_owned(),
                    body: String::new(),
                    line: index + 1,
                });
            }
        }
    }
    open.is_none().then_some(blocks)
}

/// The first JSON example of each message type one side sends (`"client"` or
/// `"server"`), in the page's order.
pub(crate) fn first_examples(side: &str) -> Vec<Value> {
    let info = format!("json {side}");
    let mut examples: Vec<Value> = Vec::new();
    for block in fenced_blocks(PROTOCOL_MD).unwrap_or_default() {
        if block.info != info {
            continue;
        }
        let Ok(example) = serde_json::from_str::<Value>(&block.body) else {
            continue;
        };
        let tag = example.get(TYPE_TAG).cloned();
        if !examples
            .iter()
            .any(|seen| seen.get(TYPE_TAG).cloned() == tag)
        {
            examples.push(example);
        }
    }
    examples
}
