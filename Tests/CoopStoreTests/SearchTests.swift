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

    @Test(arguments: Backend.all, ["Dao Ngoc Dung", "dao ngoc dung", "Đào Ngọc Dung", "DAO NGOC DUNG", "  dao,  NGỌC; dung!"])
    func searchFindsTheMeetingAndStatementsWithOrWithoutDiacritics(_ backend: Backend, query: String) async throws {
        try await withSeededStore(backend) { store async throws in
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

    @Test(arguments: Backend.all, ["", "   ", "!!!", "\"", "*", "(:)", "—…", "^-+", "\"\"\""])
    func aQueryWithoutWordsHasNoHitsAndNoError(_ backend: Backend, query: String) async throws {
        try await withSeededStore(backend) { store async throws in
            #expect(try store.search(query, limit: 20).isEmpty)
        }
    }

    @Test(arguments: Backend.all, ["zzz OR dung", "NEAR(zzz dung)", "\"zzz\" OR \"dung\"", "zzz* | dung", "title:dung zzz", "dung NOT zzz"])
    func fullTextSyntaxInAQueryIsSearchedForAsWords(_ backend: Backend, query: String) async throws {
        try await withSeededStore(backend) { store async throws in
            // Every word must match; "zzz" matches nothing, so no operator can widen the search.
            #expect(try store.search("dung", limit: 20).count > 0)
            #expect(try store.search(query, limit: 20).isEmpty)
        }
    }

    @Test(arguments: Backend.all) func searchCoversNativeNamesSourceTitlesAndAgreements(_ backend: Backend) async throws {
        try await withSeededStore(backend) { store async throws in
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

    /// Japanese has no spaces between words: any two or more consecutive characters of a title or a name find it.
    @Test(arguments: Backend.all, [
        ("ベトナム", "source", "日本のベトナム人労働者数+56.4%増の17.2万人、国籍別で第2位"),
        ("技能実習", "source", "技能実習制度に関する統計 (Wikipedia excerpt)"),
        ("外国人労働者", "source", "外国人労働者が最多230万2587人…昨年10月時点 (Yomiuri headline, quoted)"),
        ("在留 国籍別", "source", "日本の在留ベトナム人数33万0835人で過去最高、国籍別3位"),
        ("古川", "statement", "Furukawa Yoshihisa (2022-06-29)"),
        ("禎久", "event", "Minister Dao Ngoc Dung meets Japanese Justice Minister Furukawa Yoshihisa"),
    ])
    func japaneseIsFoundByAnyPartOfTwoOrMoreCharacters(_ backend: Backend, _ example: (String, String, String)) async throws {
        let (query, kind, title) = example
        try await withSeededStore(backend) { store async throws in
            let hits = try store.search(query, limit: 200)
            #expect(hits.contains { $0.entityKind == kind && $0.title == title })
            // Every hit really contains the text (folded), in its title, text or names.
            for hit in hits where hit.entityKind == "source" {
                #expect(query.split(separator: " ").allSatisfy { hit.title.contains($0) || hit.snippet.contains($0) })
            }
        }
    }

    @Test(arguments: Backend.all) func aJapaneseMatchIsInTheSnippetAndRanksWholeTitlesFirst(_ backend: Backend) async throws {
        try await withFixture(backend) { fixture async throws in
            let store = fixture.store
            let long = String(repeating: "日本の経済と社会について。", count: 30) + "技能実習生の受け入れ" + String(repeating: "その他。", count: 30)
            let event = try await store.putEvent(
                Event(kind: .forum, title: "Forum", countries: ["VN", "JP"], actualDate: "2024-05", status: .held,
                      summary: long, sourceIDs: [fixture.source.id]), context())
            let titled = try await store.putEvent(
                Event(kind: .forum, title: "技能実習フォーラム", countries: ["VN", "JP"], actualDate: "2024-06",
                      status: .held, sourceIDs: [fixture.source.id]), context())
            let hits = try store.search("技能実習", limit: 5)
            #expect(hits.map(\.entityID) == [titled.id, event.id])
            let snippet = try #require(hits.last?.snippet)
            #expect(snippet.contains("技能実習生の受け入れ"))
            #expect(snippet.hasPrefix("… ") && snippet.hasSuffix(" …"))
            #expect(snippet.count < 200)
            // Every term must be found, and ベトナム is in neither.
            #expect(try store.search("技能実習 ベトナム", limit: 5).isEmpty)
        }
    }

    @Test(arguments: Backend.all, [("Furu", "Furukawa Yoshihisa (2022-06-29)"), ("dao ngo", "Dao Ngoc Dung (2022-06-29)"),
                      ("nguy khanh", "Nguyen Khanh Ngoc holds talks"), ("Đào Ng", "Dao Ngoc Dung (2022-06-29)")])
    func latinWordsAreFoundByTheirBeginnings(_ backend: Backend, _ example: (String, String)) async throws {
        let (query, title) = example
        try await withSeededStore(backend) { store async throws in
            let hits = try store.search(query, limit: 50)
            #expect(hits.contains { $0.title.contains(title) })
        }
    }

    @Test(arguments: Backend.all) func wholeWordsRankAboveLongerWordsTheyBegin(_ backend: Backend) async throws {
        try await withFixture(backend) { fixture async throws in
            let store = fixture.store
            let longer = try await store.putEvent(
                Event(kind: .forum, title: "Dungeon forum", countries: ["VN", "JP"], actualDate: "2024-05",
                      status: .held, sourceIDs: [fixture.source.id]), context())
            let whole = try await store.putEvent(
                Event(kind: .forum, title: "Dung forum", countries: ["VN", "JP"], actualDate: "2024-06",
                      status: .held, sourceIDs: [fixture.source.id]), context())
            #expect(try store.search("dung", limit: 5).map(\.entityID) == [whole.id, longer.id])
        }
    }

    @Test(arguments: Backend.all) func hitsShowNamesInTheirOwnScript(_ backend: Backend) async throws {
        try await withSeededStore(backend) { store async throws in
            let statement = try #require(try store.search("Dao Ngoc Dung", limit: 20).first { $0.entityKind == "statement" })
            #expect(statement.nativeNames == ["Đào Ngọc Dung"])
            let meeting = try #require(try store.search("Dao Ngoc Dung Furukawa", limit: 20).first { $0.entityKind == "event" })
            #expect(meeting.nativeNames == ["Đào Ngọc Dung", "古川禎久"])
            let furukawa = try #require(try store.search("古川", limit: 20).first { $0.entityKind == "statement" })
            #expect(furukawa.nativeNames == ["古川禎久"])
        }
    }

    @Test(arguments: Backend.all) func snippetsComeFromTheOriginalText(_ backend: Backend) async throws {
        try await withSeededStore(backend) { store async throws in
            let hits = try store.search("trainees first six months", limit: 5)
            let hit = try #require(hits.first)
            #expect(hit.entityKind == "statement")
            #expect(hit.snippet == "Japan received 50,000 Vietnamese trainees in the first six months of 2022.")
        }
    }

    @Test(arguments: Backend.all) func updatingAnEventReplacesItsSearchEntry(_ backend: Backend) async throws {
        try await withFixture(backend) { fixture async throws in
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

    @Test(arguments: Backend.all) func searchLimitsAreCheckedAndCapped(_ backend: Backend) async throws {
        try await withSeededStore(backend) { store async throws in
            #expect(try store.search("japan", limit: 0).count == 20)
            #expect(try store.search("japan", limit: 3).count == 3)
            #expect(await storeError { _ = try store.search("japan", limit: -1) }?.field == "limit")
        }
    }
}
