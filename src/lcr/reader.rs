//! Reading LCR files: header, blocks, frames and trailer, every checksum checked.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::format::{
    FormatError, Frame, Header, Trailer, BLOCK_HEADER_SIZE, TRAILER_MAGIC, TRAILER_SIZE,
};
use super::LcrName;

#[derive(Debug, thiserror::Error)]
pub enum LcrError {
    #[error("could not read LCR file \"{}\": {source}", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("LCR file \"{}\": {source}", .path.display())]
    Format { path: PathBuf, source: FormatError },
    #[error("LCR file \"{}\": {what}", .path.display())]
    Invalid { path: PathBuf, what: String },
}

/// An LCR file read into memory, header and trailer checked.
pub struct LcrFile {
    pub path: PathBuf,
    /// From the file name, when it is a proper LCR file name.
    pub name: Option<LcrName>,
    pub header: Header,
    pub trailer: Trailer,
    bytes: Vec<u8>,
    header_len: usize,
}

impl LcrFile {
    /// A file's header (its checksum checked), trailer and size, read without the blocks
    /// (the file's checksum, which covers them, is not checked).
    pub fn read_ends(path: &Path) -> Result<(Header, Trailer, u64), LcrError> {
        let io = |source| LcrError::Io {
            path: path.to_path_buf(),
            source,
        };
        let fmt = |source| LcrError::Format {
            path: path.to_path_buf(),
            source,
        };
        let mut f = std::fs::File::open(path).map_err(io)?;
        let size = f.metadata().map_err(io)?.len();
        // The header's length is a u16.
        let mut head = Vec::new();
        (&mut f)
            .take(u64::from(u16::MAX))
            .read_to_end(&mut head)
            .map_err(io)?;
        let (header, header_len) = Header::decode(&head).map_err(fmt)?;
        if size < (header_len + TRAILER_SIZE) as u64 {
            return Err(LcrError::Invalid {
                path: path.to_path_buf(),
                what: format!(
                    "no trailer at the end of the file ({size} bytes): the file is incomplete or truncated"
                ),
            });
        }
        let at = size - TRAILER_SIZE as u64;
        let mut tail = vec![0; TRAILER_SIZE];
        f.seek(SeekFrom::Start(at)).map_err(io)?;
        f.read_exact(&mut tail).map_err(io)?;
        // Offsets in errors are the file's, not the buffer's.
        let trailer = Trailer::decode_body(&tail[..TRAILER_SIZE - 4], 0).map_err(|e| {
            fmt(match e {
                FormatError::Truncated { offset, len, what } => FormatError::Truncated {
                    offset: offset + at as usize,
                    len,
                    what,
                },
                FormatError::Invalid { offset, what } => FormatError::Invalid {
                    offset: offset + at as usize,
                    what,
                },
            })
        })?;
        Ok((header, trailer, size))
    }

    /// Reads a file and checks its header, trailer and whole-file checksum (frames are checked
    /// as they are read, or all at once by [`LcrFile::verify`]).
    pub fn open(path: &Path) -> Result<LcrFile, LcrError> {
        let bytes = std::fs::read(path).map_err(|source| LcrError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_bytes(path, bytes)
    }

    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<LcrFile, LcrError> {
        let fmt = |source| LcrError::Format {
            path: path.to_path_buf(),
            source,
        };
        let (header, header_len) = Header::decode(&bytes).map_err(fmt)?;
        if bytes.len() < header_len + TRAILER_SIZE
            || &bytes[bytes.len() - TRAILER_SIZE..][..8] != TRAILER_MAGIC
        {
            return Err(LcrError::Invalid {
                path: path.to_path_buf(),
                what: format!(
                    "no trailer at the end of the file ({} bytes): the file is incomplete or truncated",
                    bytes.len()
                ),
            });
        }
        // The trailer's checksum covers the blocks and the trailer (the header has its own).
        let crc_at = bytes.len() - 4;
        let stored = u32::from_le_bytes(bytes[crc_at..].try_into().expect("4 bytes"));
        let computed = crc32c::crc32c(&bytes[header_len..crc_at]);
        if stored != computed {
            return Err(LcrError::Invalid {
                path: path.to_path_buf(),
                what: format!(
                    "file checksum mismatch at offset {crc_at}: stored {stored:08x}, computed {computed:08x}"
                ),
            });
        }
        let trailer_at = bytes.len() - TRAILER_SIZE;
        let trailer = Trailer::decode_body(&bytes[..crc_at], trailer_at).map_err(fmt)?;
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(LcrName::parse);
        Ok(LcrFile {
            path: path.to_path_buf(),
            name,
            header,
            trailer,
            bytes,
            header_len,
        })
    }

    /// Size of the file in bytes.
    pub fn size(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// The file's bytes, as read.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// The frames in order, block by block.
    pub fn frames(&self) -> Frames<'_> {
        Frames {
            file: self,
            block_at: self.header_len,
            raw: Vec::new(),
            raw_at: 0,
            failed: false,
        }
    }

    /// Reads every frame and checks the trailer's counts against them.
    pub fn verify(&self) -> Result<(), LcrError> {
        let mut frames = 0u64;
        for f in self.frames() {
            f?;
            frames += 1;
        }
        if frames != self.trailer.frames {
            return Err(LcrError::Invalid {
                path: self.path.clone(),
                what: format!(
                    "the trailer counts {} frames, the file holds {frames}",
                    self.trailer.frames
                ),
            });
        }
        Ok(())
    }
}

/// Iterator over a file's frames; stops after the first error.
pub struct Frames<'f> {
    file: &'f LcrFile,
    block_at: usize,
    raw: Vec<u8>,
    raw_at: usize,
    failed: bool,
}

impl Frames<'_> {
    fn invalid(&mut self, what: String) -> Option<Result<Frame, LcrError>> {
        self.failed = true;
        Some(Err(LcrError::Invalid {
            path: self.file.path.clone(),
            what,
        }))
    }
}

impl Iterator for Frames<'_> {
    type Item = Result<Frame, LcrError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        if self.raw_at == self.raw.len() {
            let bytes = &self.file.bytes;
            let blocks_end = bytes.len() - TRAILER_SIZE;
            if self.block_at == blocks_end {
                return None;
            }
            let at = self.block_at;
            if at + BLOCK_HEADER_SIZE > blocks_end {
                return self.invalid(format!("block header at offset {at} runs into the trailer"));
            }
            let word = |i: usize| {
                u32::from_le_bytes(bytes[at + 4 * i..at + 4 * i + 4].try_into().expect("4"))
            };
            let (raw_len, zlen, crc) = (word(0) as usize, word(1) as usize, word(2));
            let data_at = at + BLOCK_HEADER_SIZE;
            if data_at + zlen > blocks_end {
                return self.invalid(format!(
                    "block at offset {at} of {zlen} bytes runs into the trailer"
                ));
            }
            let data = &bytes[data_at..data_at + zlen];
            let computed = crc32c::crc32c(data);
            if computed != crc {
                return self.invalid(format!(
                    "block at offset {at}: checksum mismatch: stored {crc:08x}, computed {computed:08x}"
                ));
            }
            match zstd::bulk::decompress(data, raw_len) {
                Ok(raw) if raw.len() == raw_len => self.raw = raw,
                Ok(raw) => {
                    return self.invalid(format!(
                        "block at offset {at}: {} bytes decompressed, {raw_len} expected",
                        raw.len()
                    ))
                }
                Err(e) => {
                    return self.invalid(format!("block at offset {at}: cannot decompress: {e}"))
                }
            }
            self.raw_at = 0;
            self.block_at = data_at + zlen;
            if raw_len == 0 {
                return self.invalid(format!("block at offset {at} is empty"));
            }
        }
        match Frame::decode(&self.raw, self.raw_at) {
            Ok((frame, next)) => {
                self.raw_at = next;
                Some(Ok(frame))
            }
            Err(source) => {
                self.failed = true;
                Some(Err(LcrError::Invalid {
                    path: self.file.path.clone(),
                    what: format!("block ending at offset {}: {source}", self.block_at),
                }))
            }
        }
    }
}
