//! The relation and type dictionary (`pglcr-catalog` JSON, see pglcr-catalog(5)): what WAL
//! alone cannot tell, taken from a live server by `sql/catalog-export.sql`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use serde::{Deserialize, Serialize};

use crate::wal::lsn::Lsn;

pub mod export;
pub mod follow;
pub mod format_type;
pub mod pages;
pub mod rows;
pub mod type_oids;

pub const FORMAT: &str = "pglcr-catalog";
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("could not read catalog file \"{}\": {source}", .path.display())]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("catalog file \"{}\" is not valid: {source}", .path.display())]
    Parse {
        path: std::path::PathBuf,
        source: serde_json::Error,
    },
    #[error("catalog file \"{}\" has format {format:?} version {version}; expected {FORMAT:?} version {FORMAT_VERSION}", .path.display())]
    Format {
        path: std::path::PathBuf,
        format: String,
        version: u32,
    },
    #[error("catalog taken at invalid LSN \"{0}\"")]
    Lsn(String),
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Database {
    pub oid: u32,
    pub name: String,
    pub encoding: String,
    pub tablespace: u32,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Named {
    pub oid: u32,
    pub name: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Column {
    pub attnum: i16,
    pub name: String,
    pub type_oid: u32,
    /// `format_type(atttypid, atttypmod)`; absent for dropped columns.
    pub type_name: Option<String>,
    /// `format_type(atttypid, NULL)`.
    pub type_name_no_typmod: Option<String>,
    pub typmod: i32,
    pub attlen: i16,
    pub attbyval: bool,
    pub attalign: String,
    pub attstorage: String,
    pub attisdropped: bool,
    pub attnotnull: bool,
    pub attcompression: Option<String>,
    pub atthasmissing: bool,
    /// `attmissingval` as text (an array literal of one element).
    pub attmissingval: Option<String>,
}

impl Column {
    /// Alignment in bytes from `attalign` (`c`, `s`, `i`, `d`).
    pub fn align(&self) -> usize {
        align_of(&self.attalign)
    }
}

pub fn align_of(code: &str) -> usize {
    match code {
        "s" => 2,
        "i" => 4,
        "d" => 8,
        _ => 1,
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Relation {
    pub oid: u32,
    pub relfilenode: Option<u32>,
    pub tablespace: u32,
    pub shared: bool,
    pub mapped: bool,
    pub namespace: String,
    pub name: String,
    /// `relkind`: r table, p partitioned, t TOAST, m matview, i index, S sequence, …
    pub kind: String,
    /// `relpersistence`: p permanent, u unlogged, t temporary.
    pub persistence: String,
    /// `relreplident`: d default, n nothing, f full, i index.
    pub replica_identity: String,
    pub replica_identity_index: Option<u32>,
    pub primary_key: Option<Vec<i16>>,
    /// Columns of the replica identity key (primary key for DEFAULT, the index for INDEX).
    pub identity_columns: Option<Vec<i16>>,
    pub toast_relid: Option<u32>,
    pub toast_relfilenode: Option<u32>,
    pub partition_parent: Option<u32>,
    /// For tables, TOAST tables, views, matviews, composite and foreign tables.
    pub columns: Option<Vec<Column>>,
    /// `relnamespace` (absent in dictionaries written before it was exported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_oid: Option<u32>,
    /// `relrewrite`: set on the transient table a rewriting ALTER TABLE fills, whose
    /// changes logical decoding does not show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rewrite_of: Option<u32>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct EnumLabel {
    pub oid: u32,
    pub label: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Type {
    pub oid: u32,
    pub name: String,
    pub namespace: String,
    /// `format_type(oid, NULL)`.
    pub formatted: String,
    pub typlen: i16,
    pub typbyval: bool,
    pub typalign: String,
    /// `typtype`: b base, c composite, d domain, e enum, p pseudo, r range, m multirange.
    pub typtype: String,
    pub typcategory: String,
    pub typdelim: String,
    pub typelem: Option<u32>,
    pub typarray: Option<u32>,
    pub typbasetype: Option<u32>,
    pub typtypmod: i32,
    pub typrelid: Option<u32>,
    /// Name of the output function, e.g. `int4out`, which identifies how to print values.
    pub typoutput: String,
    /// OID of that function (absent in dictionaries written before it was exported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typoutput_oid: Option<u32>,
    pub enum_labels: Option<Vec<EnumLabel>>,
    pub range_subtype: Option<u32>,
    pub multirange_of: Option<u32>,
}

/// The dictionary as stored on disk.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct CatalogFile {
    pub format: String,
    pub format_version: u32,
    pub taken_at_lsn: String,
    pub server_version: String,
    pub server_version_num: u32,
    pub system_identifier: String,
    pub timeline: u32,
    /// Redo point of the last checkpoint when the dictionary was taken: the WAL from there
    /// holds every catalog page changed since as a full-page image first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint_redo_lsn: Option<String>,
    pub database: Database,
    pub settings: HashMap<String, String>,
    pub tablespaces: Vec<Named>,
    pub namespaces: Vec<Named>,
    pub relations: Vec<Relation>,
    pub types: Vec<Type>,
}

/// A loaded dictionary with lookups by relfilenode and by oid: the exported file, and what
/// catalog changes decoded from WAL changed since (see [`follow`]). Versions share the file
/// and are cheap to clone.
#[derive(Clone, Debug)]
pub struct Catalog {
    pub file: Arc<CatalogFile>,
    pub taken_at: Lsn,
    index: Arc<Index>,
    overlay: Option<Arc<Overlay>>,
}

#[derive(Debug, Default)]
struct Index {
    // Looked up for every decoded change and value: a fast hash.
    relation_by_oid: FxHashMap<u32, usize>,
    relation_by_filenode: FxHashMap<(u32, u32), usize>,
    type_by_oid: FxHashMap<u32, usize>,
}

/// What changed since the file: entries here hide the file's.
#[derive(Clone, Debug, Default)]
pub(crate) struct Overlay {
    /// `None`: the relation was dropped.
    pub relations: FxHashMap<u32, Option<Arc<Relation>>>,
    /// `None`: no relation has this relfilenode any more.
    pub by_filenode: FxHashMap<(u32, u32), Option<u32>>,
    /// `None`: the type was dropped.
    pub types: FxHashMap<u32, Option<Arc<Type>>>,
    pub namespaces: FxHashMap<u32, String>,
    /// `pg_inherits` parents learnt from WAL, and `relispartition` by relation.
    pub parents: FxHashMap<u32, u32>,
    pub partitions: FxHashMap<u32, bool>,
}

/// Catalog versions kept for as long as a decoding run lends them out (output plugins hold
/// references to the version of the change they print).
#[derive(Default)]
pub struct Versions {
    arena: typed_arena::Arena<Arc<Catalog>>,
}

impl Versions {
    pub fn new() -> Versions {
        Versions::default()
    }

    /// Keeps `version` until the end of the run.
    pub fn keep(&self, version: Arc<Catalog>) -> &Catalog {
        self.arena.alloc(version)
    }
}

impl Catalog {
    pub fn load(path: &Path) -> Result<Catalog, CatalogError> {
        let text = std::fs::read_to_string(path).map_err(|source| CatalogError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Catalog::from_json(&text, path)
    }

    /// Parses and checks a dictionary's JSON text; `origin` names it in errors.
    pub fn from_json(text: &str, origin: &Path) -> Result<Catalog, CatalogError> {
        let file: CatalogFile =
            serde_json::from_str(text).map_err(|source| CatalogError::Parse {
                path: origin.to_path_buf(),
                source,
            })?;
        if file.format != FORMAT || file.format_version != FORMAT_VERSION {
            return Err(CatalogError::Format {
                path: origin.to_path_buf(),
                format: file.format.clone(),
                version: file.format_version,
            });
        }
        Catalog::new(file)
    }

    pub fn new(file: CatalogFile) -> Result<Catalog, CatalogError> {
        let taken_at = file
            .taken_at_lsn
            .parse()
            .map_err(|_| CatalogError::Lsn(file.taken_at_lsn.clone()))?;
        let mut index = Index::default();
        for (i, r) in file.relations.iter().enumerate() {
            index.relation_by_oid.insert(r.oid, i);
            if let Some(node) = r.relfilenode {
                index.relation_by_filenode.insert((r.tablespace, node), i);
            }
        }
        index.type_by_oid = file
            .types
            .iter()
            .enumerate()
            .map(|(i, t)| (t.oid, i))
            .collect();
        Ok(Catalog {
            file: Arc::new(file),
            taken_at,
            index: Arc::new(index),
            overlay: None,
        })
    }

    pub fn database_oid(&self) -> u32 {
        self.file.database.oid
    }

    pub fn relation(&self, oid: u32) -> Option<&Relation> {
        if let Some(o) = &self.overlay {
            if let Some(r) = o.relations.get(&oid) {
                return r.as_deref();
            }
        }
        self.index
            .relation_by_oid
            .get(&oid)
            .map(|&i| &self.file.relations[i])
    }

    /// The relation stored in `tablespace`/`relfilenode` (the WAL's RelFileLocator).
    pub fn relation_by_filenode(&self, tablespace: u32, relfilenode: u32) -> Option<&Relation> {
        if let Some(o) = &self.overlay {
            if let Some(oid) = o.by_filenode.get(&(tablespace, relfilenode)) {
                return oid.and_then(|oid| self.relation(oid));
            }
            let i = *self
                .index
                .relation_by_filenode
                .get(&(tablespace, relfilenode))?;
            return self.relation(self.file.relations[i].oid);
        }
        self.index
            .relation_by_filenode
            .get(&(tablespace, relfilenode))
            .map(|&i| &self.file.relations[i])
    }

    pub fn type_(&self, oid: u32) -> Option<&Type> {
        if let Some(o) = &self.overlay {
            if let Some(t) = o.types.get(&oid) {
                return t.as_deref();
            }
        }
        self.index
            .type_by_oid
            .get(&oid)
            .map(|&i| &self.file.types[i])
    }

    /// The name of a namespace.
    pub fn namespace(&self, oid: u32) -> Option<&str> {
        if let Some(name) = self.overlay.as_ref().and_then(|o| o.namespaces.get(&oid)) {
            return Some(name);
        }
        self.file
            .namespaces
            .iter()
            .find(|n| n.oid == oid)
            .map(|n| n.name.as_str())
    }

    pub fn setting(&self, name: &str) -> Option<&str> {
        self.file.settings.get(name).map(String::as_str)
    }

    /// Whether catalog changes from WAL were applied to this version.
    pub fn is_followed(&self) -> bool {
        self.overlay.is_some()
    }

    /// Every relation of this version, by OID.
    pub fn relations(&self) -> Vec<&Relation> {
        let mut all: Vec<&Relation> = self
            .file
            .relations
            .iter()
            .filter(|r| {
                self.overlay
                    .as_ref()
                    .is_none_or(|o| !o.relations.contains_key(&r.oid))
            })
            .collect();
        if let Some(o) = &self.overlay {
            all.extend(o.relations.values().flatten().map(|r| &**r));
        }
        all.sort_by_key(|r| r.oid);
        all
    }

    /// Every type of this version, by OID.
    pub fn types(&self) -> Vec<&Type> {
        let mut all: Vec<&Type> = self
            .file
            .types
            .iter()
            .filter(|t| {
                self.overlay
                    .as_ref()
                    .is_none_or(|o| !o.types.contains_key(&t.oid))
            })
            .collect();
        if let Some(o) = &self.overlay {
            all.extend(o.types.values().flatten().map(|t| &**t));
        }
        all.sort_by_key(|t| t.oid);
        all
    }

    /// Every namespace of this version, by OID.
    pub fn namespaces(&self) -> Vec<Named> {
        let mut all: Vec<Named> = self
            .file
            .namespaces
            .iter()
            .filter(|n| {
                self.overlay
                    .as_ref()
                    .is_none_or(|o| !o.namespaces.contains_key(&n.oid))
            })
            .cloned()
            .collect();
        if let Some(o) = &self.overlay {
            all.extend(o.namespaces.iter().map(|(&oid, name)| Named {
                oid,
                name: name.clone(),
            }));
        }
        all.sort_by_key(|n| n.oid);
        all
    }

    /// This version as a dictionary file, taken at `lsn`.
    pub fn to_file(&self, lsn: Lsn) -> CatalogFile {
        let mut file = (*self.file).clone();
        file.taken_at_lsn = lsn.to_string();
        file.relations = self.relations().into_iter().cloned().collect();
        // As the export: row types of relations other than composite types are described by
        // their relations' columns.
        file.types = self
            .types()
            .into_iter()
            .filter(|t| {
                t.typtype != "c"
                    || t.typrelid
                        .and_then(|r| self.relation(r))
                        .is_some_and(|r| r.kind == "c")
            })
            .cloned()
            .collect();
        file.namespaces = self.namespaces();
        file
    }

    pub(crate) fn overlay_mut(&mut self) -> &mut Overlay {
        Arc::make_mut(self.overlay.get_or_insert_with(Default::default))
    }
}
