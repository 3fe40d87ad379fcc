import CoopStore
import Foundation
import Testing

@Suite struct SearchTests {
    @Test(arguments: [
        ("Đào Ngọc Dung", "dao ngoc dung"),
        ("Nguyễn Khánh Ngọc", "nguyen khanh ngoc"),
        ("ĐƯỜNG Ơ", "duong o"),
        ("Øresund Straße Æsir Łódź", "oresund strasse aesir lodz"),
        ("ＭＨＬＷ", "mhlw"),
        ("Ｔｏｋｙｏ", "tokyo"),
        ("ガイジン", "ガイジン"),
        ("İstanbul", "istanbul"),
    ])
    func foldingIgnoresCaseAndDiacritics(text: String, folded: String) {
        #expect(TextFolding.fold(text) == folded)
    }

    @Test(arguments: ["Dao Ngoc Dung", "dao ngoc dung", "Đào Ngọc Dung", "DAO NGOC DUNG", "  dao,  NGỌC; dung!"])
    func searchFindsTheMeetingAndStatementsWithOrWithoutDiacritics(query: String) async throws {
        try await withSeededStore { store async throws in
            let hits = try store.search(query, limit: 50)
            var events = EventQuery()
            events.from = "2022-06-29"
            events.to = "2022-06-29"
            events.participant = "Dao Ngoc Dung"
            let meeting = try #require(try store.events(events).items.first)
            #expect(hits.contains { $0.entityKind == "event" && $0.entityID == meeting.id })

            var statements = StatementQuery()
            statements.speaker = "dao ngoc dung"
            let byDung = try store.statements(statements).items
            #expect(byDung.count == 3)
            let statementHits = Set(hits.filter { $0.entityKind == "statement" }.map(\.entityID))
            #expect(statementHits == Set(byDung.map(\.id)))
            #expect(hits.first { $0.entityKind == "statement" }?.title == "Dao Ngoc Dung (2022-06-29)")
        }
    }

    @Test(arguments: ["", "   ", "!!!", "\"", "*", "(:)", "NEAR(", "^-+", "\"\"\""])
    func aQueryWithoutWordsHasNoHitsAndNoError(query: String) async throws {
        try await withSeededStore { store async throws in
            #expect(try store.search(query, limit: 20).isEmpty)
        }
    }

    @Test(arguments: ["zzz OR dung", "\"zzz\" OR \"dung\"", "zzz* | dung", "title:dung zzz", "dung NOT zzz"])
    func fullTextSyntaxInAQueryIsSearchedForAsWords(query: String) async throws {
        try await withSeededStore { store async throws in
            // Every word must match; "zzz" matches nothing, so no operator can widen the search.
            #expect(try store.search("dung", limit: 20).count > 0)
            #expect(try store.search(query, limit: 20).isEmpty)
        }
    }

    @Test func searchCoversNativeNamesSourceTitlesAndAgreements() async throws {
        try await withSeededStore { store async throws in
            let furukawa = try store.search("古川禎久", limit: 20)
            #expect(furukawa.contains { $0.entityKind == "event" })

            let source = try store.search("overseas workers at record", limit: 20)
            #expect(source.map(\.title).contains("Overseas workers at record in 2015"))
            #expect(source.first { $0.entityKind == "source" }?.snippet == "Vietnam Economic Times")

            let agreement = try store.search("specified skilled workers", limit: 20)
            #expect(agreement.contains { $0.entityKind == "agreement" && $0.title.contains("specified skilled workers") })

            #expect(try store.search("Đào", limit: 1).count == 1)
            #expect(try store.search("nonexistentword", limit: 20).isEmpty)
        }
    }

    @Test func snippetsComeFromTheOriginalText() async throws {
        try await withSeededStore { store async throws in
            let hits = try store.search("trainees first six months", limit: 5)
            let hit = try #require(hits.first)
            #expect(hit.entityKind == "statement")
            #expect(hit.snippet == "Japan received 50,000 Vietnamese trainees in the first six months of 2022.")
        }
    }

    @Test func updatingAnEventReplacesItsSearchEntry() async throws {
        try await withFixture { fixture async throws in
            let store = fixture.store
            var event = try await store.putEvent(
                Event(
                    kind: .meeting, title: "Hội nghị lao động", countries: ["VN", "JP"], actualDate: "2024-05",
                    status: .held, sourceIDs: [fixture.source.id]), context())
            #expect(try store.search("hoi nghi", limit: 5).map(\.entityID) == [event.id])
            event.title = "Labour forum"
            event = try await store.putEvent(event, context())
            #expect(try store.search("hoi nghi", limit: 5).isEmpty)
            #expect(try store.search("labour forum", limit: 5).map(\.entityID) == [event.id])
        }
    }

    @Test func searchLimitsAreCheckedAndCapped() async throws {
        try await withSeededStore { store async throws in
            #expect(try store.search("japan", limit: 0).count == 20)
            #expect(try store.search("japan", limit: 3).count == 3)
            #expect(await storeError { _ = try store.search("japan", limit: -1) }?.field == "limit")
        }
    }
}
