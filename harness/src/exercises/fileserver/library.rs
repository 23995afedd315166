//! The library a server is graded on, seeded fresh for every run: the file kinds students
//! get wrong (text, every byte value with `##` inside, empty, large, awkward names), plus
//! things that must *not* be served (a hidden file, a subdirectory, a secret outside).
//! Its names and contents are data compared byte for byte, the same in every language
//! (`verbatim`).

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::net::transfer::{Markers, Pseudo, PseudoText};

/// Where a file's bytes come from: kept small, or generated on demand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    Bytes(Vec<u8>),
    Pseudo {
        seed: u64,
        len: u64,
        /// The dialect's end markers, which the bytes never hold.
        markers: Markers,
    },
    /// Pseudo-random lowercase text.
    Text {
        seed: u64,
        len: u64,
        markers: Markers,
    },
}

impl Content {
    pub fn len(&self) -> u64 {
        match self {
            Content::Bytes(b) => b.len() as u64,
            Content::Pseudo { len, .. } | Content::Text { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A fresh reader over the bytes.
    pub fn reader(&self) -> Box<dyn Read + Send> {
        match self {
            Content::Bytes(b) => Box::new(io::Cursor::new(b.clone())),
            Content::Pseudo { seed, len, markers } => {
                Box::new(markers.strip(Pseudo::new(*seed, *len)))
            }
            Content::Text { seed, len, markers } => {
                Box::new(markers.strip(PseudoText::new(*seed, *len)))
            }
        }
    }

    fn write_to(&self, path: &Path) -> io::Result<()> {
        let mut f = fs::File::create(path)?;
        io::copy(&mut self.reader(), &mut f)?;
        Ok(())
    }
}

pub const TEXT: &str = "hello.txt";
pub const BINARY: &str = "binary.bin";
pub const EMPTY: &str = "empty.txt";
pub const LARGE: &str = "large.bin";
pub const SPACES: &str = crate::i18n::verbatim("my notes.txt");
pub const CHINESE: &str = "报告.txt";
pub const CONCURRENT: &str = "concurrent.bin";
pub const HIDDEN: &str = ".hidden";
pub const SUBDIR: &str = "subdir";
/// A symbolic link in the library pointing at the secret outside it.
pub const LINK: &str = "link-to-secret";

/// A text file of several kilobytes (over the 4 KiB a careless client reads at once).
pub fn text_bytes() -> Vec<u8> {
    let mut s = String::from("Hello, library!\n");
    for i in 1..=120 {
        s.push_str(&crate::i18n::verbatim(format!(
            "line {i}: 第{i}行, the quick brown fox jumps over the lazy dog\n"
        )));
    }
    s.push_str("the end\n");
    s.into_bytes()
}

/// Every byte value, both orders, with `##` markers and CR LF pairs inside, repeated to
/// about 8 KiB (over the 4 KiB a careless client reads at once).
pub fn binary_bytes() -> Vec<u8> {
    let mut one: Vec<u8> = (0..=255u8).collect();
    one.extend_from_slice(b"##\n##\r\n##");
    one.extend((0..=255u8).rev());
    one.extend_from_slice(b"\n##\n");
    one.repeat(16)
}

/// A seeded library and the secret next to it.
#[derive(Debug)]
pub struct Library {
    pub dir: PathBuf,
    pub secret: PathBuf,
    pub secret_token: String,
    /// The files a listing must show, with their content.
    pub files: Vec<(String, Content)>,
}

impl Library {
    /// Seeds `<root>/library` and `<root>/secret.txt`; the generated files hold none of
    /// `markers` (the dialect's end markers).
    pub fn seed(
        root: &Path,
        large_bytes: u64,
        concurrent_bytes: u64,
        token: &str,
        markers: &Markers,
    ) -> io::Result<Self> {
        let dir = root.join("library");
        fs::create_dir_all(&dir)?;
        let files = vec![
            (TEXT.to_string(), Content::Bytes(text_bytes())),
            (BINARY.to_string(), Content::Bytes(binary_bytes())),
            (EMPTY.to_string(), Content::Bytes(Vec::new())),
            (
                LARGE.to_string(),
                Content::Pseudo {
                    seed: 42,
                    len: large_bytes,
                    markers: markers.clone(),
                },
            ),
            (
                SPACES.to_string(),
                Content::Bytes(crate::i18n::verbatim(b"notes with a space in the name\n").to_vec()),
            ),
            (
                CHINESE.to_string(),
                Content::Bytes("报告内容\n".as_bytes().to_vec()),
            ),
            (
                CONCURRENT.to_string(),
                Content::Text {
                    seed: 77,
                    len: concurrent_bytes,
                    markers: markers.clone(),
                },
            ),
        ];
        for (name, content) in &files {
            content.write_to(&dir.join(name))?;
        }
        fs::write(
            dir.join(HIDDEN),
            crate::i18n::verbatim(b"hidden: never listed, never served\n"),
        )?;
        fs::create_dir_all(dir.join(SUBDIR))?;
        fs::write(
            dir.join(SUBDIR).join("inner.txt"),
            b"inside a subdirectory\n",
        )?;
        let secret = root.join("secret.txt");
        fs::write(&secret, format!("TOP SECRET {token}\n"))?;
        std::os::unix::fs::symlink(&secret, dir.join(LINK))?;
        Ok(Library {
            dir,
            secret,
            secret_token: token.to_string(),
            files,
        })
    }

    pub fn content(&self, name: &str) -> Option<&Content> {
        self.files.iter().find(|(n, _)| n == name).map(|(_, c)| c)
    }

    /// Names in the library directory right now (everything, hidden included).
    pub fn entries(&self) -> Vec<String> {
        entries(&self.dir)
    }
}

/// Names in `dir` right now (everything, hidden included), sorted.
pub fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}
