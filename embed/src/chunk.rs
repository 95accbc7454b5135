//! Splitting page text into chunks that fit the model.
//!
//! Text is cut on paragraph boundaries (page text is one block per line), paragraphs too long
//! for the model on sentence boundaries, and sentences still too long on word boundaries; the
//! pieces are then packed greedily, in order, into chunks of at most `max_tokens` tokens as the
//! model's tokenizer counts them (special tokens and the title prefix included). Every chunk
//! starts with its page title, so that a chunk about "pricing" still says whose pricing.

/// One chunk of a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// The title prefix (if any), a newline, then the chunk's text.
    pub text: String,
    /// Tokens of `text`, counted by the model's tokenizer.
    pub tokens: usize,
}

/// Splits `text` into chunks of at most `max_tokens` tokens. `count` counts the tokens of a
/// string as the model does, special tokens included (so `count("")` is their number), without
/// truncation.
pub fn chunk(
    text: &str,
    title: Option<&str>,
    max_tokens: usize,
    count: &dyn Fn(&str) -> usize,
) -> Vec<Chunk> {
    let special = count("");
    let tokens = |s: &str| count(s).saturating_sub(special);
    // The title takes at most half of a chunk: a longer one is cut word by word.
    let budget = max_tokens.saturating_sub(special);
    let title: Option<String> = title
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| fit(t, budget / 2, &tokens));
    let prefix = title.as_deref().map_or(0, |t| tokens(&format!("{t}\n")));
    let room = budget.saturating_sub(prefix).max(1);
    let units = pieces(text, room, &tokens);

    let mut out = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    let mut used = 0usize;
    let flush = |current: &mut Vec<&str>, out: &mut Vec<Chunk>| {
        if current.is_empty() {
            return;
        }
        let body = current.join("\n");
        let text = match &title {
            Some(t) => format!("{t}\n{body}"),
            None => body,
        };
        let tokens = count(&text);
        out.push(Chunk { text, tokens });
        current.clear();
    };
    for (piece, n) in &units {
        if used + n > room && !current.is_empty() {
            flush(&mut current, &mut out);
            used = 0;
        }
        current.push(piece);
        used += n;
    }
    flush(&mut current, &mut out);
    out
}

/// `text` cut to at most `limit` tokens, on a word boundary (at least one word).
fn fit(text: &str, limit: usize, tokens: &dyn Fn(&str) -> usize) -> String {
    if tokens(text) <= limit {
        return text.to_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for word in text.split_whitespace() {
        let n = tokens(word);
        if used + n > limit && !out.is_empty() {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
        used += n;
    }
    out
}

/// The text's pieces with their token counts (specials excluded), each at most `room` tokens:
/// paragraphs, else sentences, else runs of words (tokens of whitespace-separated words add
/// up), else slices of a single huge word.
fn pieces<'a>(text: &'a str, room: usize, tokens: &dyn Fn(&str) -> usize) -> Vec<(&'a str, usize)> {
    let mut out = Vec::new();
    for paragraph in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let n = tokens(paragraph);
        if n <= room {
            out.push((paragraph, n));
            continue;
        }
        for sentence in sentences(paragraph) {
            let n = tokens(sentence);
            if n <= room {
                out.push((sentence, n));
            } else {
                word_runs(sentence, room, tokens, &mut out);
            }
        }
    }
    out
}

fn word_runs<'a>(
    sentence: &'a str,
    room: usize,
    tokens: &dyn Fn(&str) -> usize,
    out: &mut Vec<(&'a str, usize)>,
) {
    // (start, end) byte ranges of the words.
    let mut words = Vec::new();
    let mut start = None;
    for (i, c) in sentence.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                words.push((s, i));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        words.push((s, sentence.len()));
    }
    let mut run: Option<(usize, usize)> = None;
    let mut used = 0;
    for (s, e) in words {
        let word = &sentence[s..e];
        let n = tokens(word);
        if n > room {
            if let Some((a, b)) = run.take() {
                out.push((&sentence[a..b], used));
            }
            used = 0;
            huge_word(word, room, tokens, out);
            continue;
        }
        match run {
            Some((a, _)) if used + n <= room => {
                run = Some((a, e));
                used += n;
            }
            Some((a, b)) => {
                out.push((&sentence[a..b], used));
                run = Some((s, e));
                used = n;
            }
            None => {
                run = Some((s, e));
                used = n;
            }
        }
    }
    if let Some((a, b)) = run {
        out.push((&sentence[a..b], used));
    }
}

/// A single word longer than a chunk (a URL, a run of CJK text): slices of `room` characters.
fn huge_word<'a>(
    word: &'a str,
    room: usize,
    tokens: &dyn Fn(&str) -> usize,
    out: &mut Vec<(&'a str, usize)>,
) {
    let bounds: Vec<usize> = word
        .char_indices()
        .map(|(i, _)| i)
        .step_by(room.max(1))
        .chain(std::iter::once(word.len()))
        .collect();
    for w in bounds.windows(2) {
        let slice = &word[w[0]..w[1]];
        if !slice.is_empty() {
            out.push((slice, tokens(slice)));
        }
    }
}

/// Sentences of a paragraph: cut after `.`, `!`, `?` (and their full-width forms) followed by
/// a space, unless the next character is lower-case (abbreviations: "e.g. this", "Inc. and").
fn sentences(paragraph: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let chars: Vec<(usize, char)> = paragraph.char_indices().collect();
    for w in 0..chars.len() {
        let (i, c) = chars[w];
        if !matches!(c, '.' | '!' | '?' | '。' | '！' | '？') {
            continue;
        }
        let next = chars.get(w + 1).map(|x| x.1);
        let after = chars.get(w + 2).map(|x| x.1);
        let cut = match next {
            None => false,
            Some(' ') => !after.is_some_and(char::is_lowercase),
            Some(_) => matches!(c, '。' | '！' | '？'),
        };
        if cut {
            let end = i + c.len_utf8();
            let s = paragraph[start..end].trim();
            if !s.is_empty() {
                out.push(s);
            }
            start = end;
        }
    }
    let rest = paragraph[start..].trim();
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in tokenizer: one token per word, plus [CLS] and [SEP].
    fn words(s: &str) -> usize {
        s.split_whitespace().count() + 2
    }

    #[test]
    fn paragraphs_are_packed_under_the_limit_with_the_title() {
        let text = "One two three four.\nFive six seven.\nEight nine ten eleven twelve.";
        let chunks = chunk(text, Some("Acme pricing"), 12, &words);
        assert_eq!(
            chunks.iter().map(|c| c.text.as_str()).collect::<Vec<_>>(),
            [
                "Acme pricing\nOne two three four.\nFive six seven.",
                "Acme pricing\nEight nine ten eleven twelve."
            ]
        );
        assert!(chunks.iter().all(|c| c.tokens <= 12), "{chunks:?}");
        assert_eq!(chunks[0].tokens, words(&chunks[0].text));
    }

    #[test]
    fn long_paragraphs_split_on_sentences_then_words() {
        let para =
            "We build pumps. They move water! Do they last? Yes, e.g. for decades. ".repeat(5);
        let chunks = chunk(&para, None, 20, &words);
        assert!(chunks.len() > 2);
        assert!(chunks.iter().all(|c| c.tokens <= 20), "{chunks:?}");
        let joined: Vec<String> = chunks.iter().map(|c| c.text.replace('\n', " ")).collect();
        assert_eq!(
            joined.join(" ").split_whitespace().count(),
            para.split_whitespace().count()
        );
        assert!(sentences("Yes, e.g. for decades. Next one").len() == 2);

        let run_on = "word\u{a0}".repeat(250) + &"word ".repeat(250);
        let chunks = chunk(&run_on, Some("T"), 64, &words);
        assert!(
            chunks.iter().all(|c| c.tokens <= 64),
            "{:?}",
            chunks.iter().map(|c| c.tokens).collect::<Vec<_>>()
        );
        let total: usize = chunks
            .iter()
            .map(|c| c.text.split_whitespace().count() - 1)
            .sum();
        assert_eq!(total, 500, "no word lost");
    }

    #[test]
    fn long_titles_and_huge_words_stay_under_the_limit() {
        let title = "very long title ".repeat(20);
        let chunks = chunk("short body text", Some(&title), 16, &words);
        assert_eq!(chunks.len(), 1);
        assert!(chunks[0].tokens <= 16, "{chunks:?}");
        assert!(chunks[0].text.ends_with("short body text"));
        // One "word" of 1000 characters with a counter of one token per character.
        let chars = |s: &str| s.chars().filter(|c| !c.is_whitespace()).count() + 2;
        let huge = "x".repeat(1000);
        let chunks = chunk(&huge, None, 100, &chars);
        assert!(
            chunks.iter().all(|c| c.tokens <= 100),
            "{:?}",
            chunks.iter().map(|c| c.tokens).collect::<Vec<_>>()
        );
        assert_eq!(chunks.iter().map(|c| c.text.len()).sum::<usize>(), 1000);
    }

    #[test]
    fn empty_text_gives_no_chunk() {
        assert!(chunk("", Some("Title"), 32, &words).is_empty());
        assert!(chunk("\n \n", None, 32, &words).is_empty());
    }
}
