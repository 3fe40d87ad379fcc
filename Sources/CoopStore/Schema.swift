internal import GRDB

/// The database schema, as named migrations. A migration is never edited once released: changes are new
/// migrations appended to the list.
///
/// Conventions: dates are stored as given (ISO, maybe partial) next to normalised `*_from` / `*_to`
/// "YYYY-MM-DD" keys that range filters and ordering use; optional references are NULL, not 0; lists that
/// queries filter on live in child tables with a `position` column that keeps their order.
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-schema", migrate: createTables)
        migrator.registerMigration("v1-countries", migrate: insertCountries)
        migrator.registerMigration("v1-search-index", migrate: createSearchIndex)
        migrator.registerMigration("v2-observations-pair-listing", migrate: indexPairListing)
        migrator.registerMigration("v3-observation-columns", migrate: reshapeObservationColumns)
        migrator.registerMigration("v4-request-digests", migrate: addRequestDigests)
        migrator.registerMigration("v5-search-native-names", migrate: addSearchNativeNames)
        migrator.registerMigration("v6-observation-identity", migrate: indexObservationIdentity)
        migrator.registerMigration("v7-longest-period", migrate: storeLongestPeriod)
        migrator.registerMigration("v8-observations-clustered", migrate: clusterObservations)
        return migrator
    }

    private static func createTables(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE meta (
                  key TEXT PRIMARY KEY NOT NULL,
                  value TEXT NOT NULL
                ) WITHOUT ROWID;

                CREATE TABLE countries (
                  code TEXT PRIMARY KEY NOT NULL,
                  name TEXT NOT NULL,
                  other_names_json TEXT NOT NULL DEFAULT '[]'
                ) WITHOUT ROWID;

                CREATE TABLE sources (
                  id INTEGER PRIMARY KEY AUTOINCREMENT,
                  title TEXT NOT NULL,
                  publisher TEXT NOT NULL,
                  original_publisher TEXT NOT NULL DEFAULT '',
                  url TEXT NOT NULL DEFAULT '',
                  published TEXT NOT NULL DEFAULT '',
                  kind TEXT NOT NULL,
                  language TEXT NOT NULL DEFAULT '',
                  note TEXT NOT NULL DEFAULT ''
                );
                CREATE INDEX sources_by_url ON sources(url) WHERE url <> '';

                CREATE TABLE indicators (
                  code TEXT PRIMARY KEY NOT NULL,
                  name TEXT NOT NULL,
                  compiler TEXT NOT NULL DEFAULT '',
                  measure TEXT NOT NULL,
                  unit TEXT NOT NULL DEFAULT '',
                  period_basis TEXT NOT NULL,
                  breakdown_dimensions_json TEXT NOT NULL DEFAULT '[]',
                  description TEXT NOT NULL DEFAULT ''
                ) WITHOUT ROWID;

                CREATE TABLE observations (
                  id INTEGER PRIMARY KEY AUTOINCREMENT,
                  indicator TEXT NOT NULL REFERENCES indicators(code),
                  origin TEXT NOT NULL,
                  destination TEXT NOT NULL,
                  breakdown TEXT NOT NULL DEFAULT '',          -- canonical "key=value;key=value"; '' = total
                  breakdown_json TEXT NOT NULL DEFAULT '[]',
                  period_start TEXT NOT NULL,
                  period_end TEXT NOT NULL,
                  period_from TEXT NOT NULL,                   -- first day of period_start
                  period_to TEXT NOT NULL,                     -- last day of period_end
                  value INTEGER NOT NULL CHECK (value >= 0),
                  value_high INTEGER NOT NULL DEFAULT 0,
                  unit_multiplier INTEGER NOT NULL DEFAULT 0 CHECK (unit_multiplier BETWEEN 0 AND 15),
                  unit TEXT NOT NULL DEFAULT '',
                  qualifier TEXT NOT NULL,
                  status TEXT NOT NULL,
                  source_id INTEGER NOT NULL REFERENCES sources(id),
                  locator TEXT NOT NULL DEFAULT '',
                  vintage TEXT NOT NULL DEFAULT '',
                  vintage_from TEXT NOT NULL DEFAULT '',       -- first day of vintage; '' = unknown
                  supersedes_id INTEGER REFERENCES observations(id),
                  superseded_by_id INTEGER REFERENCES observations(id),
                  note TEXT NOT NULL DEFAULT '',
                  retracted INTEGER NOT NULL DEFAULT 0,
                  retraction_reason TEXT NOT NULL DEFAULT '',
                  recorded_sequence INTEGER NOT NULL
                );
                CREATE INDEX observations_listing
                  ON observations(indicator, origin, destination, breakdown, period_from, vintage_from, id);
                CREATE INDEX observations_by_pair ON observations(origin, destination);
                CREATE UNIQUE INDEX observations_one_revision
                  ON observations(supersedes_id) WHERE supersedes_id IS NOT NULL AND retracted = 0;
                CREATE INDEX observations_by_supersedes ON observations(supersedes_id) WHERE supersedes_id IS NOT NULL;
                CREATE INDEX observations_by_source ON observations(source_id);

                -- A conflict link is symmetric: stored once, lower id first.
                CREATE TABLE conflict_links (
                  low_id INTEGER NOT NULL REFERENCES observations(id),
                  high_id INTEGER NOT NULL REFERENCES observations(id),
                  note TEXT NOT NULL DEFAULT '',
                  PRIMARY KEY (low_id, high_id),
                  CHECK (low_id < high_id)
                ) WITHOUT ROWID;
                CREATE INDEX conflict_links_by_high ON conflict_links(high_id, low_id);

                CREATE TABLE events (
                  id INTEGER PRIMARY KEY AUTOINCREMENT,
                  kind TEXT NOT NULL,
                  title TEXT NOT NULL,
                  planned_date TEXT NOT NULL DEFAULT '',
                  planned_from TEXT NOT NULL DEFAULT '',
                  planned_to TEXT NOT NULL DEFAULT '',
                  actual_date TEXT NOT NULL DEFAULT '',
                  actual_from TEXT NOT NULL DEFAULT '',
                  actual_to TEXT NOT NULL DEFAULT '',
                  sort_date TEXT NOT NULL,                     -- actual_from, else planned_from
                  status TEXT NOT NULL,
                  place TEXT NOT NULL DEFAULT '',
                  summary TEXT NOT NULL DEFAULT ''
                );
                CREATE INDEX events_by_date ON events(sort_date, id);

                CREATE TABLE event_countries (
                  event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
                  position INTEGER NOT NULL,
                  country TEXT NOT NULL,
                  PRIMARY KEY (event_id, position)
                ) WITHOUT ROWID;
                CREATE INDEX event_countries_by_country ON event_countries(country, event_id);

                CREATE TABLE event_participants (
                  event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
                  position INTEGER NOT NULL,
                  name TEXT NOT NULL,
                  native_name TEXT NOT NULL DEFAULT '',
                  title TEXT NOT NULL DEFAULT '',
                  organisation TEXT NOT NULL DEFAULT '',
                  country TEXT NOT NULL DEFAULT '',
                  folded_names TEXT NOT NULL,                  -- fold(name + " " + native_name)
                  PRIMARY KEY (event_id, position)
                ) WITHOUT ROWID;

                CREATE TABLE event_sources (
                  event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
                  position INTEGER NOT NULL,
                  source_id INTEGER NOT NULL REFERENCES sources(id),
                  PRIMARY KEY (event_id, position)
                ) WITHOUT ROWID;
                CREATE INDEX event_sources_by_source ON event_sources(source_id);

                CREATE TABLE event_links (
                  event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
                  position INTEGER NOT NULL,
                  related_event_id INTEGER NOT NULL REFERENCES events(id),
                  PRIMARY KEY (event_id, position)
                ) WITHOUT ROWID;
                CREATE INDEX event_links_by_related ON event_links(related_event_id);

                CREATE TABLE agreements (
                  id INTEGER PRIMARY KEY AUTOINCREMENT,
                  kind TEXT NOT NULL,
                  title TEXT NOT NULL,
                  signed_date TEXT NOT NULL DEFAULT '',
                  effective_date TEXT NOT NULL DEFAULT '',
                  date_from TEXT NOT NULL DEFAULT '',          -- of signed_date, else effective_date
                  date_to TEXT NOT NULL DEFAULT '',
                  place TEXT NOT NULL DEFAULT '',
                  text_url TEXT NOT NULL DEFAULT '',
                  event_id INTEGER REFERENCES events(id),
                  summary TEXT NOT NULL DEFAULT ''
                );
                CREATE INDEX agreements_by_date ON agreements(date_from, id);
                CREATE INDEX agreements_by_event ON agreements(event_id) WHERE event_id IS NOT NULL;

                CREATE TABLE agreement_parties (
                  agreement_id INTEGER NOT NULL REFERENCES agreements(id) ON DELETE CASCADE,
                  position INTEGER NOT NULL,
                  name TEXT NOT NULL,
                  country TEXT NOT NULL DEFAULT '',
                  subnational INTEGER NOT NULL DEFAULT 0,
                  PRIMARY KEY (agreement_id, position)
                ) WITHOUT ROWID;
                CREATE INDEX agreement_parties_by_country ON agreement_parties(country, agreement_id);

                CREATE TABLE agreement_topics (
                  agreement_id INTEGER NOT NULL REFERENCES agreements(id) ON DELETE CASCADE,
                  position INTEGER NOT NULL,
                  topic TEXT NOT NULL,
                  PRIMARY KEY (agreement_id, position)
                ) WITHOUT ROWID;
                CREATE INDEX agreement_topics_by_topic ON agreement_topics(topic, agreement_id);

                CREATE TABLE agreement_sources (
                  agreement_id INTEGER NOT NULL REFERENCES agreements(id) ON DELETE CASCADE,
                  position INTEGER NOT NULL,
                  source_id INTEGER NOT NULL REFERENCES sources(id),
                  PRIMARY KEY (agreement_id, position)
                ) WITHOUT ROWID;
                CREATE INDEX agreement_sources_by_source ON agreement_sources(source_id);

                CREATE TABLE statements (
                  id INTEGER PRIMARY KEY AUTOINCREMENT,
                  speaker_name TEXT NOT NULL,
                  speaker_native_name TEXT NOT NULL DEFAULT '',
                  speaker_title TEXT NOT NULL DEFAULT '',
                  speaker_organisation TEXT NOT NULL DEFAULT '',
                  speaker_country TEXT NOT NULL DEFAULT '',
                  speaker_folded TEXT NOT NULL,                -- fold(name + " " + native_name)
                  event_id INTEGER REFERENCES events(id),
                  said_on TEXT NOT NULL,
                  said_from TEXT NOT NULL,
                  said_to TEXT NOT NULL,
                  text TEXT NOT NULL,
                  claim_observation_id INTEGER REFERENCES observations(id),
                  source_id INTEGER NOT NULL REFERENCES sources(id),
                  note TEXT NOT NULL DEFAULT ''
                );
                CREATE INDEX statements_by_date ON statements(said_from, id);
                CREATE INDEX statements_by_event ON statements(event_id) WHERE event_id IS NOT NULL;
                CREATE INDEX statements_by_claim ON statements(claim_observation_id)
                  WHERE claim_observation_id IS NOT NULL;

                CREATE TABLE statement_conflicts (
                  statement_id INTEGER NOT NULL REFERENCES statements(id) ON DELETE CASCADE,
                  position INTEGER NOT NULL,
                  observation_id INTEGER NOT NULL REFERENCES observations(id),
                  PRIMARY KEY (statement_id, position)
                ) WITHOUT ROWID;
                CREATE INDEX statement_conflicts_by_observation ON statement_conflicts(observation_id);

                CREATE TABLE relationships (
                  country_a TEXT NOT NULL,
                  country_b TEXT NOT NULL,
                  established TEXT NOT NULL DEFAULT '',
                  PRIMARY KEY (country_a, country_b),
                  CHECK (country_a < country_b)
                ) WITHOUT ROWID;

                CREATE TABLE relationship_levels (
                  country_a TEXT NOT NULL,
                  country_b TEXT NOT NULL,
                  position INTEGER NOT NULL,
                  level TEXT NOT NULL,
                  since TEXT NOT NULL,
                  agreement_id INTEGER REFERENCES agreements(id),
                  PRIMARY KEY (country_a, country_b, position),
                  FOREIGN KEY (country_a, country_b) REFERENCES relationships(country_a, country_b) ON DELETE CASCADE
                ) WITHOUT ROWID;

                -- Idempotent writes: the first result of each request id, returned again on a retry.
                CREATE TABLE requests (
                  request_id TEXT PRIMARY KEY NOT NULL,
                  operation TEXT NOT NULL,
                  result_json TEXT NOT NULL,
                  writer_uid INTEGER NOT NULL,
                  time TEXT NOT NULL
                ) WITHOUT ROWID;

                -- The append-only change log behind WatchChanges and audit.
                CREATE TABLE changes (
                  sequence INTEGER PRIMARY KEY AUTOINCREMENT,
                  time TEXT NOT NULL,
                  entity_kind TEXT NOT NULL,
                  entity_id INTEGER NOT NULL,
                  entity_key TEXT NOT NULL DEFAULT '',
                  operation TEXT NOT NULL,
                  writer_uid INTEGER NOT NULL,
                  summary TEXT NOT NULL,
                  entity_json TEXT,
                  request_id TEXT NOT NULL
                );
                CREATE TRIGGER changes_are_not_updated BEFORE UPDATE ON changes
                BEGIN SELECT RAISE(ABORT, 'the change log is append-only'); END;
                CREATE TRIGGER changes_are_not_deleted BEFORE DELETE ON changes
                BEGIN SELECT RAISE(ABORT, 'the change log is append-only'); END;
                """)
    }

    private static func insertCountries(_ db: Database) throws {
        let insert = try db.makeStatement(
            sql: "INSERT INTO countries (code, name, other_names_json) VALUES (?, ?, ?)")
        for country in ISO3166.countries {
            try insert.execute(arguments: [country.code, country.name, try JSONCoding.encode(country.otherNames)])
        }
    }

    /// Full-text search over folded text (see `TextFolding`): `title` and `body` are indexed, the
    /// `display_*` columns keep the original text for hits and snippets. The rowid encodes the entity
    /// (`SearchIndex.rowID`), so an entity's entry is replaced without scanning.
    private static func createSearchIndex(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE VIRTUAL TABLE search_index USING fts5(
                  entity_kind UNINDEXED,
                  entity_id UNINDEXED,
                  display_title UNINDEXED,
                  display_text UNINDEXED,
                  title,
                  body,
                  tokenize = 'unicode61 remove_diacritics 2'
                );
                """)
    }

    /// Listings by pair (the common query) walk this index in listing order and stop after one page, instead
    /// of sorting every observation of the pair: origin and destination are fixed by the query, so the
    /// remaining columns are exactly the listing order.
    private static func indexPairListing(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE INDEX observations_pair_listing
                  ON observations(origin, destination, indicator, breakdown, period_from, vintage_from, id);
                DROP INDEX observations_by_pair;
                """)
    }

    /// Search hits show names in their own script: the index gains a column for them. The table is recreated
    /// empty; `SearchIndex.rebuildIfStale` fills it (it also re-tokenises whenever `SearchIndex.format` moves).
    private static func addSearchNativeNames(_ db: Database) throws {
        try db.execute(
            sql: """
                DROP TABLE search_index;
                CREATE VIRTUAL TABLE search_index USING fts5(
                  entity_kind UNINDEXED,
                  entity_id UNINDEXED,
                  display_title UNINDEXED,
                  display_text UNINDEXED,
                  native_names UNINDEXED,
                  title,
                  body,
                  tokenize = 'unicode61 remove_diacritics 2'
                );
                DELETE FROM meta WHERE key = 'search_index_format';
                """)
    }

    /// A figure identical to a stored one is refused (`ObservationTable.identical`): without this index the check
    /// read every figure of the series with the same period and vintage, so writes slowed as a series grew.
    private static func indexObservationIdentity(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE INDEX observations_identity
                  ON observations(indicator, origin, destination, breakdown, period_from, vintage_from, value);
                """)
    }

    /// Each indicator's longest period of the figures stored so far (see `LongestPeriod`); writes keep it from
    /// here on.
    private static func storeLongestPeriod(_ db: Database) throws {
        try db.execute(
            sql: """
                ALTER TABLE indicators ADD COLUMN longest_period_days INTEGER NOT NULL DEFAULT 0;
                UPDATE indicators SET longest_period_days = (
                  SELECT CAST(coalesce(max(julianday(period_to) - julianday(period_from)), 0) AS INTEGER)
                  FROM observations WHERE indicator = code);
                """)
    }

    /// A digest of each write request beside its id, so that an id re-used for another body is refused.
    /// Requests stored before keep '' and are not compared.
    private static func addRequestDigests(_ db: Database) throws {
        try db.execute(sql: "ALTER TABLE requests ADD COLUMN digest TEXT NOT NULL DEFAULT ''")
    }

    /// Each observation's conflict links, also on its row ("12,40", ascending; '' for none): every listing
    /// shows them, and reading them from the row is free where a lookup per page was a sixth of a listing.
    /// `conflict_links` stays the source of truth (notes, both directions); triggers keep the column in step
    /// whatever inserts or deletes a link. And `breakdown_json` goes: listings parse the canonical `breakdown`,
    /// so the JSON copy was written on every insert and read by nothing.
    private static func reshapeObservationColumns(_ db: Database) throws {
        try db.execute(
            sql: """
                ALTER TABLE observations DROP COLUMN breakdown_json;
                ALTER TABLE observations ADD COLUMN conflicts TEXT NOT NULL DEFAULT '';
                UPDATE observations SET conflicts = \(linksOf("observations.id"))
                WHERE id IN (SELECT low_id FROM conflict_links UNION SELECT high_id FROM conflict_links);
                \(conflictLinkTriggers)
                """)
    }

    /// An observation's links as its `conflicts` column holds them.
    private static func linksOf(_ id: String) -> String {
        """
        (SELECT group_concat(other, ',') FROM (
           SELECT other FROM (
             SELECT high_id AS other FROM conflict_links WHERE low_id = \(id)
             UNION ALL SELECT low_id FROM conflict_links WHERE high_id = \(id))
           ORDER BY other))
        """
    }

    /// The triggers that keep `observations.conflicts` in step with `conflict_links`.
    private static var conflictLinkTriggers: String {
        """
        CREATE TRIGGER conflict_links_inserted AFTER INSERT ON conflict_links BEGIN
          UPDATE observations SET conflicts = \(linksOf("observations.id"))
          WHERE id IN (NEW.low_id, NEW.high_id);
        END;
        CREATE TRIGGER conflict_links_deleted AFTER DELETE ON conflict_links BEGIN
          UPDATE observations SET conflicts = coalesce(\(linksOf("observations.id")), '')
          WHERE id IN (OLD.low_id, OLD.high_id);
        END;
        """
    }

    /// Observations stored in the order listings read them (a pair, an indicator, a breakdown, by period and
    /// vintage): a page of a series is a few adjacent pages of the file, where rows stored in arrival order put
    /// each figure of a long series on a page of its own (at 10^6 figures a listing read about 44 pages from the
    /// file for one answer). The pair-listing index is the table itself now; `id` stays unique, and is given by
    /// the writer (`ObservationTable.nextID`), since a table without rowid numbers nothing itself.
    private static func clusterObservations(_ db: Database) throws {
        try db.execute(
            sql: """
                DROP TRIGGER conflict_links_inserted;
                DROP TRIGGER conflict_links_deleted;
                CREATE TABLE observations_clustered (
                  id INTEGER NOT NULL UNIQUE,
                  indicator TEXT NOT NULL REFERENCES indicators(code),
                  origin TEXT NOT NULL,
                  destination TEXT NOT NULL,
                  breakdown TEXT NOT NULL DEFAULT '',          -- canonical "key=value;key=value"; '' = total
                  period_start TEXT NOT NULL,
                  period_end TEXT NOT NULL,
                  period_from TEXT NOT NULL,                   -- first day of period_start
                  period_to TEXT NOT NULL,                     -- last day of period_end
                  value INTEGER NOT NULL CHECK (value >= 0),
                  value_high INTEGER NOT NULL DEFAULT 0,
                  unit_multiplier INTEGER NOT NULL DEFAULT 0 CHECK (unit_multiplier BETWEEN 0 AND 15),
                  unit TEXT NOT NULL DEFAULT '',
                  qualifier TEXT NOT NULL,
                  status TEXT NOT NULL,
                  source_id INTEGER NOT NULL REFERENCES sources(id),
                  locator TEXT NOT NULL DEFAULT '',
                  vintage TEXT NOT NULL DEFAULT '',
                  vintage_from TEXT NOT NULL DEFAULT '',       -- first day of vintage; '' = unknown
                  supersedes_id INTEGER REFERENCES observations(id),
                  superseded_by_id INTEGER REFERENCES observations(id),
                  note TEXT NOT NULL DEFAULT '',
                  retracted INTEGER NOT NULL DEFAULT 0,
                  retraction_reason TEXT NOT NULL DEFAULT '',
                  recorded_sequence INTEGER NOT NULL,
                  conflicts TEXT NOT NULL DEFAULT '',
                  PRIMARY KEY (origin, destination, indicator, breakdown, period_from, vintage_from, id)
                ) WITHOUT ROWID;
                INSERT INTO observations_clustered (\(clusteredColumns))
                  SELECT \(clusteredColumns) FROM observations
                  ORDER BY origin, destination, indicator, breakdown, period_from, vintage_from, id;
                DROP TABLE observations;
                ALTER TABLE observations_clustered RENAME TO observations;
                CREATE INDEX observations_listing
                  ON observations(indicator, origin, destination, breakdown, period_from, vintage_from, id);
                CREATE UNIQUE INDEX observations_one_revision
                  ON observations(supersedes_id) WHERE supersedes_id IS NOT NULL AND retracted = 0;
                CREATE INDEX observations_by_supersedes ON observations(supersedes_id) WHERE supersedes_id IS NOT NULL;
                CREATE INDEX observations_by_source ON observations(source_id);
                CREATE INDEX observations_identity
                  ON observations(indicator, origin, destination, breakdown, period_from, vintage_from, value);
                \(conflictLinkTriggers)
                """)
    }

    private static let clusteredColumns = """
        id, indicator, origin, destination, breakdown, period_start, period_end, period_from, period_to, value,
        value_high, unit_multiplier, unit, qualifier, status, source_id, locator, vintage, vintage_from,
        supersedes_id, superseded_by_id, note, retracted, retraction_reason, recorded_sequence, conflicts
        """
}
