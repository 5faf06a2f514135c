//! A hardened walk over an XML document from outside, shared by the pain.002 parser and the
//! pain.001 checker.
//!
//! It owns every defence that does not depend on the message: a byte-size limit, UTF-8 only
//! (checked before parsing, so no later step ever sees invalid text), no DOCTYPE at all (so no
//! DTD, no entity declarations and nothing to expand: "billion laughs" is refused at its
//! first byte of DTD), only the five predefined entities and character references, a nesting
//! depth limit, one root element in the expected namespace, and a typed error for truncated
//! documents. Messages see a stream of `start`/`end` calls with the element path as `Tag`s.

use std::sync::OnceLock;

use quick_xml::escape::resolve_xml_entity;
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::name::PrefixDeclaration;
use quick_xml::Reader;

/// Limits applied while walking a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XmlLimits {
    /// Largest document accepted, in bytes.
    pub bytes_max: usize,
    /// Deepest element nesting accepted (the root is depth 1).
    pub depth_max: usize,
}

/// A document-level problem: the bytes are not an acceptable XML document of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("document is {bytes} bytes, over the limit of {max} bytes")]
    TooLarge { bytes: usize, max: usize },
    #[error("document is not UTF-8: invalid byte sequence at byte {offset}")]
    NotUtf8 { offset: usize },
    #[error("XML declaration names encoding {0:?}; only UTF-8 is accepted")]
    UnsupportedEncoding(String),
    #[error(
        "DOCTYPE at byte {position}: DTDs and entity declarations are refused, never expanded"
    )]
    DoctypeForbidden { position: u64 },
    #[error("undefined entity &{name}; at byte {position} (only &amp; &lt; &gt; &apos; &quot; and character references are allowed)")]
    UndefinedEntity { name: String, position: u64 },
    #[error("<{element}> at byte {position} is nested deeper than the limit of {max} levels")]
    TooDeep {
        element: String,
        max: usize,
        position: u64,
    },
    #[error("document ends inside <{open}>: truncated")]
    Truncated { open: &'static str },
    #[error("document has no root element")]
    NoRoot,
    #[error("malformed XML at byte {position}: {reason}")]
    Malformed { position: u64, reason: String },
    #[error("root is <{found}>, expected <{expected}>")]
    WrongRoot {
        found: String,
        expected: &'static str,
    },
    #[error("<{element}> is in namespace {found:?}, expected {expected:?}")]
    WrongNamespace {
        element: String,
        found: String,
        expected: &'static str,
    },
    #[error("content after the root element at byte {position}")]
    TrailingContent { position: u64 },
}

macro_rules! tags {
    ($($name:ident),* $(,)?) => {
        /// The element names the messages read. Everything else is `Other` and is skipped.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Tag { $($name,)* Other }

        impl Tag {
            /// Every named tag; `from_local` searches them sorted by name.
            const ALL: &'static [Tag] = &[$(Tag::$name,)*];

            pub fn name(self) -> &'static str {
                match self {
                    $(Tag::$name => stringify!($name),)*
                    Tag::Other => "(other element)",
                }
            }
        }
    };
}

tags!(
    Document,
    CstmrCdtTrfInitn,
    CstmrPmtStsRpt,
    GrpHdr,
    MsgId,
    CreDtTm,
    NbOfTxs,
    CtrlSum,
    InitgPty,
    PmtInf,
    PmtInfId,
    PmtTpInf,
    CtgyPurp,
    Cd,
    CdtTrfTxInf,
    PmtId,
    EndToEndId,
    Amt,
    InstdAmt,
    EqvtAmt,
    CdtrAgt,
    FinInstnId,
    BICFI,
    ClrSysMmbId,
    MmbId,
    Cdtr,
    Nm,
    Id,
    PrvtId,
    Othr,
    SchmeNm,
    CdtrAcct,
    IBAN,
    Purp,
    OrgnlGrpInfAndSts,
    OrgnlMsgId,
    OrgnlMsgNmId,
    OrgnlNbOfTxs,
    OrgnlCtrlSum,
    GrpSts,
    StsRsnInf,
    Rsn,
    Prtry,
    AddtlInf,
    OrgnlPmtInfAndSts,
    OrgnlPmtInfId,
    PmtInfSts,
    TxInfAndSts,
    OrgnlEndToEndId,
    TxSts,
    OrgnlTxRef,
    SplmtryData,
    Envlp,
);

/// Open-addressing table from packed names to tags (see `Tag::from_local`).
const TAG_SLOTS: usize = 256;

/// The slots of packed short names, and the tags whose names are too long to pack.
type TagTable = (Vec<Option<(u128, Tag)>>, Vec<Tag>);

fn slot_of(key: u128) -> usize {
    let folded = (key as u64) ^ ((key >> 64) as u64).rotate_left(29);
    (folded.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize
}

impl Tag {
    /// The tag of a local element name. Called once per element opened, so it is kept cheap:
    /// a name of up to 15 bytes is packed with its length into a `u128` and looked up in a
    /// small hash table (slice comparisons through `memcmp`, then a binary search, showed in
    /// profiles). The three longer names are compared directly.
    fn from_local(name: &[u8]) -> Tag {
        static TABLE: OnceLock<TagTable> = OnceLock::new();
        let (slots, long) = TABLE.get_or_init(|| {
            let mut slots = vec![None; TAG_SLOTS];
            let mut long = Vec::new();
            for t in Tag::ALL {
                let Some(key) = pack(t.name().as_bytes()) else {
                    long.push(*t);
                    continue;
                };
                let mut i = slot_of(key);
                while slots[i].is_some() {
                    i = (i + 1) % TAG_SLOTS;
                }
                slots[i] = Some((key, *t));
            }
            (slots, long)
        });
        let Some(key) = pack(name) else {
            return long
                .iter()
                .copied()
                .find(|t| t.name().as_bytes() == name)
                .unwrap_or(Tag::Other);
        };
        let mut i = slot_of(key);
        loop {
            match slots[i] {
                Some((k, t)) if k == key => return t,
                Some(_) => i = (i + 1) % TAG_SLOTS,
                None => return Tag::Other,
            }
        }
    }
}

/// A name of at most 15 bytes as one integer: the bytes, then the length in the top byte.
fn pack(name: &[u8]) -> Option<u128> {
    if name.len() > 15 {
        return None;
    }
    let mut buf = [0u8; 16];
    for (b, n) in buf.iter_mut().zip(name) {
        *b = *n;
    }
    buf[15] = name.len() as u8;
    Some(u128::from_le_bytes(buf))
}

/// What a document must be: its namespace and the message element under `Document`.
pub struct Schema {
    pub namespace: &'static str,
    pub message: Tag,
    /// For error messages: "Document/CstmrPmtStsRpt".
    pub root_path: &'static str,
}

/// Receives the elements of a document in order.
pub trait Visitor {
    type Error: From<XmlError>;
    /// An element opened; `path` ends with it.
    fn start(&mut self, path: &[Tag], element: &BytesStart<'_>) -> Result<(), Self::Error>;
    /// An element closed; `path` still ends with it; `text` is its own text, trimmed.
    fn end(&mut self, path: &[Tag], text: &str) -> Result<(), Self::Error>;
}

fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// Checks size and encoding, strips a UTF-8 byte-order mark, and returns the text.
fn decode(bytes: &[u8], limits: XmlLimits) -> Result<&str, XmlError> {
    if bytes.len() > limits.bytes_max {
        return Err(XmlError::TooLarge {
            bytes: bytes.len(),
            max: limits.bytes_max,
        });
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| XmlError::NotUtf8 {
        offset: e.valid_up_to(),
    })
}

/// Walks `bytes` as a document of `schema`, calling `visitor` for every element.
pub fn walk<V: Visitor>(
    bytes: &[u8],
    schema: &Schema,
    limits: XmlLimits,
    visitor: &mut V,
) -> Result<(), V::Error> {
    let text = decode(bytes, limits)?;
    let mut reader = Reader::from_str(text);
    // Whitespace-only text (indentation: half the events of an indented report) is skipped
    // inside the reader instead of becoming events. The reader also skips whitespace right
    // after an entity reference or CDATA (`a &amp; b` would read `a &b`): `restore_gap` puts
    // it back.
    reader.config_mut().trim_text_start = true;
    let mut walker = Walker {
        doc: text,
        reader,
        gap_from: None,
        bindings: Vec::new(),
        schema,
        limits,
        path: Vec::with_capacity(16),
        text: String::with_capacity(256),
        skip_from: None,
        root_done: false,
    };
    walker.run(visitor)
}

/// A namespace declaration in scope: made on the element at `depth`.
struct Binding {
    depth: usize,
    /// `None` for the default namespace (`xmlns="..."`).
    prefix: Option<Vec<u8>>,
    uri: String,
    /// Whether `uri` is the schema's namespace (decided once, when declared).
    expected: bool,
}

/// The namespace an element resolved to.
enum Ns {
    Expected,
    /// Another namespace (empty when unbound).
    Other(String),
    UndeclaredPrefix(String),
}

/// The namespace of the `xml` prefix, bound in every document.
const XML_NAMESPACE: &str = "http://www.w3.org/XML/1998/namespace";

struct Walker<'s> {
    /// The whole document (UTF-8 checked).
    doc: &'s str,
    /// Where the last entity reference, CDATA, comment or PI inside a text ended: the reader's
    /// `trim_text_start` drops the whitespace that follows, which belongs to the text.
    gap_from: Option<usize>,
    reader: Reader<&'s [u8]>,
    /// Namespace declarations in scope, innermost last. Documents declare one or two, on the
    /// root, so resolving is a short backward scan. (quick-xml's `NsReader` does the same in
    /// general and cost a fifth of the parse time in profiles.)
    bindings: Vec<Binding>,
    schema: &'s Schema,
    limits: XmlLimits,
    path: Vec<Tag>,
    /// Text of the element being read (cleared when a child opens).
    text: String,
    /// Depth of an open `SplmtryData/Envlp`, whose content is any namespace and skipped.
    skip_from: Option<usize>,
    root_done: bool,
}

impl Walker<'_> {
    fn position(&self) -> u64 {
        self.reader.buffer_position()
    }

    fn malformed(&self, reason: impl ToString) -> XmlError {
        XmlError::Malformed {
            position: self.reader.error_position(),
            reason: reason.to_string(),
        }
    }

    fn run<V: Visitor>(&mut self, visitor: &mut V) -> Result<(), V::Error> {
        loop {
            let event = match self.reader.read_event() {
                Ok(event) => event,
                Err(e) => return Err(self.malformed(e).into()),
            };
            let inside_text = matches!(
                event,
                Event::Text(_)
                    | Event::CData(_)
                    | Event::GeneralRef(_)
                    | Event::Comment(_)
                    | Event::PI(_)
            );
            if inside_text {
                self.restore_gap();
            } else {
                self.gap_from = None;
            }
            match event {
                Event::Start(e) => self.open(visitor, &e, false)?,
                Event::Empty(e) => self.open(visitor, &e, true)?,
                Event::End(_) => self.close(visitor)?,
                Event::Text(e) => self.text_event(&e)?,
                Event::CData(e) => {
                    let content = e.xml10_content().map_err(|e| self.malformed(e))?;
                    self.push_text(&content)?;
                }
                Event::GeneralRef(r) => self.push_reference(&r)?,
                Event::Decl(d) => check_declaration(&d)?,
                Event::DocType(_) => {
                    return Err(XmlError::DoctypeForbidden {
                        position: self.position(),
                    }
                    .into())
                }
                Event::Comment(_) | Event::PI(_) => {}
                Event::Eof => return self.finish(),
            }
            if inside_text {
                self.gap_from = usize::try_from(self.position()).ok();
            }
        }
    }

    /// Puts back the whitespace the reader skipped (`trim_text_start`) after an entity
    /// reference, CDATA section, comment or processing instruction inside a text: exactly the
    /// whitespace run that follows it in the document.
    fn restore_gap(&mut self) {
        let Some(from) = self.gap_from.take() else {
            return;
        };
        let rest = self.doc.get(from..).unwrap_or("");
        let run = &rest[..rest.len() - rest.trim_start_matches(is_xml_space).len()];
        if run.contains('\r') {
            // Line ends in text are normalised to LF, as quick-xml does for text events.
            self.text
                .push_str(&run.replace("\r\n", "\n").replace('\r', "\n"));
        } else {
            self.text.push_str(run);
        }
    }

    fn finish<E: From<XmlError>>(&self) -> Result<(), E> {
        if let Some(open) = self.path.last() {
            return Err(XmlError::Truncated { open: open.name() }.into());
        }
        if !self.root_done {
            return Err(XmlError::NoRoot.into());
        }
        Ok(())
    }

    /// A text chunk. The document was checked to be UTF-8 as a whole and a chunk lies between
    /// ASCII delimiters, so the chunk is taken from the document (where the event borrows it
    /// from) instead of validating it again; only text with a CR goes through quick-xml's
    /// line-end normalisation.
    fn text_event(&mut self, e: &quick_xml::events::BytesText<'_>) -> Result<(), XmlError> {
        let offset = (e.as_ptr() as usize).checked_sub(self.doc.as_ptr() as usize);
        let slice = offset.and_then(|start| self.doc.get(start..start + e.len()));
        match slice {
            Some(chunk) if chunk.as_ptr() == e.as_ptr() && !chunk.contains('\r') => {
                self.push_text(chunk)
            }
            _ => {
                let content = e.xml10_content().map_err(|err| self.malformed(err))?;
                self.push_text(&content)
            }
        }
    }

    fn push_text(&mut self, content: &str) -> Result<(), XmlError> {
        if self.path.is_empty() {
            if content.chars().all(is_xml_space) {
                return Ok(());
            }
            return Err(self.malformed("text outside the root element"));
        }
        if self.skip_from.is_none() {
            self.text.push_str(content);
        }
        Ok(())
    }

    /// `&name;` or `&#n;`: only the predefined entities and legal characters.
    fn push_reference(&mut self, r: &BytesRef<'_>) -> Result<(), XmlError> {
        let position = self.position();
        let resolved = match r.resolve_char_ref() {
            Ok(Some(c)) if is_xml_char(c) => c.to_string(),
            Ok(Some(_)) | Err(_) => {
                return Err(self.malformed("character reference to a character XML forbids"))
            }
            Ok(None) => {
                let name = String::from_utf8_lossy(r).into_owned();
                match resolve_xml_entity(&name) {
                    Some(s) => s.to_owned(),
                    None => return Err(XmlError::UndefinedEntity { name, position }),
                }
            }
        };
        self.push_text(&resolved)
    }

    fn open<V: Visitor>(
        &mut self,
        visitor: &mut V,
        e: &BytesStart<'_>,
        empty: bool,
    ) -> Result<(), V::Error> {
        let local = e.local_name();
        let tag = Tag::from_local(local.as_ref());
        if self.path.len() >= self.limits.depth_max {
            return Err(XmlError::TooDeep {
                element: String::from_utf8_lossy(e.name().as_ref()).into_owned(),
                max: self.limits.depth_max,
                position: self.position(),
            }
            .into());
        }
        self.path.push(tag);
        self.text.clear();
        self.declare_namespaces(e)?;
        if self.skip_from.is_none() {
            let ns = self.resolve(e);
            self.check_structure(e, tag, ns)?;
            if tag == Tag::Envlp {
                self.skip_from = Some(self.path.len());
            } else {
                visitor.start(&self.path, e)?;
            }
        }
        if empty {
            self.close(visitor)?;
        }
        Ok(())
    }

    /// Namespace of every element; `Document` as the only root; the message element under it.
    fn check_structure(&mut self, e: &BytesStart<'_>, tag: Tag, ns: Ns) -> Result<(), XmlError> {
        let element = || String::from_utf8_lossy(e.name().as_ref()).into_owned();
        if self.path.len() == 1 && self.root_done {
            return Err(XmlError::TrailingContent {
                position: self.position(),
            });
        }
        let expected_at_depth = match self.path.len() {
            1 => Some(Tag::Document),
            2 => Some(self.schema.message),
            _ => None,
        };
        if expected_at_depth.is_some_and(|t| t != tag) {
            return Err(XmlError::WrongRoot {
                found: self.path_text(element()),
                expected: self.schema.root_path,
            });
        }
        match ns {
            Ns::Expected => Ok(()),
            Ns::Other(found) => Err(XmlError::WrongNamespace {
                element: element(),
                found,
                expected: self.schema.namespace,
            }),
            Ns::UndeclaredPrefix(prefix) => Err(self.malformed(format!(
                "<{}>: undeclared namespace prefix {prefix:?}",
                element()
            ))),
        }
    }

    /// Records the `xmlns` / `xmlns:p` attributes of an element opening at the current depth.
    fn declare_namespaces(&mut self, e: &BytesStart<'_>) -> Result<(), XmlError> {
        let raw = e.attributes_raw();
        if !raw.windows(5).any(|w| w == b"xmlns") {
            return Ok(());
        }
        for attr in e.attributes() {
            let attr = attr.map_err(|err| self.malformed(format!("attribute: {err}")))?;
            let prefix = match attr.key.as_namespace_binding() {
                Some(PrefixDeclaration::Default) => None,
                Some(PrefixDeclaration::Named(p)) => Some(p.to_vec()),
                None => continue,
            };
            let uri = attr
                .normalized_value(quick_xml::XmlVersion::Explicit1_0)
                .map_err(|err| self.malformed(format!("namespace declaration: {err}")))?
                .into_owned();
            let expected = uri == self.schema.namespace;
            self.bindings.push(Binding {
                depth: self.path.len(),
                prefix,
                uri,
                expected,
            });
        }
        Ok(())
    }

    fn resolve(&self, e: &BytesStart<'_>) -> Ns {
        let name = e.name();
        // The usual case: an unprefixed name under the root's default declaration.
        if let [only] = self.bindings.as_slice() {
            if only.prefix.is_none() && only.expected && !name.as_ref().contains(&b':') {
                return Ns::Expected;
            }
        }
        let prefix = name.prefix();
        let prefix = prefix.as_ref().map(|p| p.as_ref());
        match self
            .bindings
            .iter()
            .rev()
            .find(|b| b.prefix.as_deref() == prefix)
        {
            Some(b) if b.expected => Ns::Expected,
            Some(b) => Ns::Other(b.uri.clone()),
            None => match prefix {
                None => Ns::Other(String::new()),
                Some(b"xml") => Ns::Other(XML_NAMESPACE.into()),
                Some(p) => Ns::UndeclaredPrefix(String::from_utf8_lossy(p).into_owned()),
            },
        }
    }

    fn path_text(&self, last: String) -> String {
        let mut parts: Vec<&str> = self.path[..self.path.len() - 1]
            .iter()
            .map(|t| t.name())
            .collect();
        parts.push(&last);
        parts.join("/")
    }

    fn close<V: Visitor>(&mut self, visitor: &mut V) -> Result<(), V::Error> {
        if self.path.is_empty() {
            return Err(self.malformed("end tag without a start tag").into());
        }
        match self.skip_from {
            Some(depth) if self.path.len() > depth => {}
            Some(_) => self.skip_from = None,
            None => {
                let text = self.text.trim_matches(is_xml_space);
                visitor.end(&self.path, text)?;
            }
        }
        self.text.clear();
        let depth = self.path.len();
        while self.bindings.last().is_some_and(|b| b.depth == depth) {
            self.bindings.pop();
        }
        self.path.pop();
        if self.path.is_empty() {
            self.root_done = true;
        }
        Ok(())
    }
}

fn is_xml_char(c: char) -> bool {
    !((c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{FFFE}' || c == '\u{FFFF}')
}

fn check_declaration(d: &quick_xml::events::BytesDecl<'_>) -> Result<(), XmlError> {
    match d.encoding() {
        None => Ok(()),
        Some(Ok(enc))
            if enc.eq_ignore_ascii_case(b"UTF-8") || enc.eq_ignore_ascii_case(b"UTF8") =>
        {
            Ok(())
        }
        Some(Ok(enc)) => Err(XmlError::UnsupportedEncoding(
            String::from_utf8_lossy(&enc).into_owned(),
        )),
        Some(Err(e)) => Err(XmlError::Malformed {
            position: 0,
            reason: format!("XML declaration: {e}"),
        }),
    }
}

/// The value of an unprefixed attribute, unescaped.
pub fn attribute(e: &BytesStart<'_>, name: &[u8]) -> Result<Option<String>, XmlError> {
    for attr in e.attributes() {
        let attr = attr.map_err(|err| XmlError::Malformed {
            position: 0,
            reason: format!("attribute: {err}"),
        })?;
        if attr.key.as_ref() == name {
            let value = attr
                .normalized_value(quick_xml::XmlVersion::Explicit1_0)
                .map_err(|err| match err {
                    quick_xml::Error::Escape(
                        quick_xml::escape::EscapeError::UnrecognizedEntity(_, name),
                    ) => XmlError::UndefinedEntity { name, position: 0 },
                    other => XmlError::Malformed {
                        position: 0,
                        reason: format!("attribute value: {other}"),
                    },
                })?;
            return Ok(Some(value.into_owned()));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Collect(Vec<String>);

    impl Visitor for Collect {
        type Error = XmlError;
        fn start(&mut self, _: &[Tag], _: &BytesStart<'_>) -> Result<(), XmlError> {
            Ok(())
        }
        fn end(&mut self, path: &[Tag], text: &str) -> Result<(), XmlError> {
            self.0
                .push(format!("{}={text}", path.last().unwrap().name()));
            Ok(())
        }
    }

    const SCHEMA: Schema = Schema {
        namespace: "urn:x",
        message: Tag::GrpHdr,
        root_path: "Document/GrpHdr",
    };
    const LIMITS: XmlLimits = XmlLimits {
        bytes_max: 10_000,
        depth_max: 8,
    };

    fn run(doc: &str) -> Result<Vec<String>, XmlError> {
        let mut c = Collect(Vec::new());
        walk(doc.as_bytes(), &SCHEMA, LIMITS, &mut c).map(|()| c.0)
    }

    #[test]
    fn resolves_predefined_entities_and_char_refs() {
        let got = run(r#"<Document xmlns="urn:x"><GrpHdr><MsgId> A&amp;B&#x1EC5;&lt; </MsgId></GrpHdr></Document>"#).unwrap();
        assert_eq!(got[0], "MsgId=A&Bễ<");
    }

    #[test]
    fn keeps_whitespace_around_references_and_cdata() {
        let doc = "<Document xmlns=\"urn:x\"><GrpHdr><MsgId>\n  Tom &amp; Jerry &lt; &gt;\r\n &#x41; <![CDATA[ c ]]> d <!-- e --> f <?pi?> g  </MsgId></GrpHdr></Document>";
        assert_eq!(
            run(doc).unwrap()[0],
            "MsgId=Tom & Jerry < >\n A  c  d  f  g"
        );
    }

    #[test]
    fn every_tag_is_found_by_its_name() {
        for t in Tag::ALL {
            assert_eq!(Tag::from_local(t.name().as_bytes()), *t);
        }
        for other in [
            &b""[..],
            b"Doc",
            b"Documentx",
            b"OrgnlPmtInfAndStsX",
            b"OrgnlPmtInfAndSt",
            b"\xff\x00",
        ] {
            assert_eq!(Tag::from_local(other), Tag::Other);
        }
    }

    #[test]
    fn accepts_a_prefixed_document() {
        assert!(run(r#"<p:Document xmlns:p="urn:x"><p:GrpHdr/></p:Document>"#).is_ok());
    }

    #[test]
    fn refuses_foreign_namespace_inside() {
        let err = run(
            r#"<Document xmlns="urn:x"><GrpHdr><MsgId xmlns="urn:y">1</MsgId></GrpHdr></Document>"#,
        );
        assert!(
            matches!(err, Err(XmlError::WrongNamespace { .. })),
            "{err:?}"
        );
    }

    #[test]
    fn skips_supplementary_envelopes_in_any_namespace() {
        let doc = r#"<Document xmlns="urn:x"><GrpHdr><SplmtryData><Envlp><y:Z xmlns:y="urn:y">t</y:Z></Envlp></SplmtryData></GrpHdr></Document>"#;
        assert!(run(doc).is_ok());
    }

    #[test]
    fn refuses_second_root_and_stray_text() {
        assert!(matches!(
            run(r#"<Document xmlns="urn:x"><GrpHdr/></Document><Document xmlns="urn:x"/>"#),
            Err(XmlError::TrailingContent { .. })
        ));
        assert!(matches!(run("junk"), Err(XmlError::Malformed { .. })));
        assert!(matches!(run(""), Err(XmlError::NoRoot)));
    }

    /// One piece of element content: its XML form and the text it stands for.
    fn piece() -> impl proptest::strategy::Strategy<Value = (String, String)> {
        use proptest::prelude::*;
        prop_oneof![
            "[ a-zđễ\t\n]{0,6}".prop_map(|t| (t.clone(), t)),
            Just(("&amp;".to_string(), "&".to_string())),
            Just(("&#65;".to_string(), "A".to_string())),
            "[ a-z]{0,4}".prop_map(|t| (format!("<![CDATA[{t}]]>"), t)),
            Just(("<!--c-->".to_string(), String::new())),
            Just(("<?p x?>".to_string(), String::new())),
        ]
    }

    proptest::proptest! {
        /// Whatever mix of text, references, CDATA, comments and PIs an element holds, the
        /// walk yields exactly its character data, trimmed: skipping indentation inside the
        /// reader must not lose the whitespace that belongs to the text.
        #[test]
        fn element_text_is_its_character_data_trimmed(pieces in proptest::collection::vec(piece(), 0..8)) {
            let xml: String = pieces.iter().map(|(x, _)| x.as_str()).collect();
            let text: String = pieces.iter().map(|(_, t)| t.as_str()).collect();
            let doc = format!("<Document xmlns=\"urn:x\"><GrpHdr><MsgId>{xml}</MsgId></GrpHdr></Document>");
            let got = run(&doc).unwrap();
            proptest::prop_assert_eq!(&got[0], &format!("MsgId={}", text.trim_matches(is_xml_space)));
        }
    }
}
