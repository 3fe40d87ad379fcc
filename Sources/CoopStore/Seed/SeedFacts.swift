/// The shipped facts beyond the figures table: what each indicator measures, the Vietnam–Japan relationship,
/// events, agreements, and the statements of the seed article (VNA/BTA, 2022-06-30, "Vietnam, Japan promote
/// human resource cooperation") with the statistics they disagree with. Everything here is from
/// `shared/data/README.md` and the sources it names; nothing is invented, and what the sources leave open
/// (an exact URL, a place) is left empty.
enum SeedFacts {
    static let version = "1"
    static let metaKey = "seed.vn-jp"

    // MARK: Indicators

    private static let mhlw = "MHLW (Ministry of Health, Labour and Welfare, Japan)"
    private static let isa = "ISA (Immigration Services Agency of Japan)"
    private static let dolab = "DOLAB (Department of Overseas Labour, MOLISA, Viet Nam)"
    private static let status = ["status_of_residence"]

    /// Every indicator code of the figures table (breakdown suffixes removed).
    static let indicators: [String: Indicator] = Dictionary(
        uniqueKeysWithValues: [
            Indicator(
                code: "JP_MHLW_FOREIGN_WORKERS", name: "Foreign workers in Japan (employer notifications)",
                compiler: mhlw, measure: .stock, unit: "persons", periodBasis: .asOfDate,
                description: "Foreign workers notified by employers, as of 31 October each year, by nationality "
                    + "(origin; _T = all nationalities)."),
            Indicator(
                code: "JP_MHLW_FOREIGN_WORKERS_BY_STATUS", name: "Foreign workers in Japan by status of residence",
                compiler: mhlw, measure: .stock, unit: "persons", periodBasis: .asOfDate, breakdownDimensions: status,
                description: "As JP_MHLW_FOREIGN_WORKERS, broken down by status of residence (TITP: technical "
                    + "intern training)."),
            Indicator(
                code: "JP_ISA_FOREIGN_RESIDENTS", name: "Foreign residents in Japan", compiler: isa,
                measure: .stock, unit: "persons", periodBasis: .asOfDate,
                description: "Mid- to long-term and special permanent residents by nationality, as of 30 June and "
                    + "31 December."),
            Indicator(
                code: "JP_ISA_FOREIGN_RESIDENTS_BY_STATUS", name: "Foreign residents in Japan by status of residence",
                compiler: isa, measure: .stock, unit: "persons", periodBasis: .asOfDate, breakdownDimensions: status,
                description: "As JP_ISA_FOREIGN_RESIDENTS, by status of residence (TITP: technical intern training; "
                    + "SSW: specified skilled worker)."),
            Indicator(
                code: "JP_ISA_NEW_ENTRANTS", name: "New entrants to Japan", compiler: isa, measure: .flow,
                unit: "persons", periodBasis: .calendarYear,
                description: "Foreign nationals newly entering Japan in a calendar year, all statuses."),
            Indicator(
                code: "JP_ISA_NEW_ENTRANTS_BY_STATUS", name: "New entrants to Japan by status of residence",
                compiler: isa, measure: .flow, unit: "persons", periodBasis: .calendarYear,
                breakdownDimensions: status,
                description: "As JP_ISA_NEW_ENTRANTS, by status of residence (TITP1: technical intern training (i))."),
            Indicator(
                code: "JP_OTIT_TITP_PLAN_APPROVALS", name: "Technical intern training plans approved",
                compiler: "OTIT (Organization for Technical Intern Training, Japan)", measure: .flow, unit: "plans",
                periodBasis: .japaneseFiscalYear,
                description: "Technical intern training plans approved per Japanese fiscal year (April–March)."),
            Indicator(
                code: "VN_DOLAB_WORKERS_DEPLOYED", name: "Vietnamese workers sent abroad under contract",
                compiler: dolab, measure: .flow, unit: "persons", periodBasis: .calendarYear,
                description: "Workers sent abroad per calendar year, by destination (_T = all destinations); "
                    + "some figures cover half a year or the year to date, as their period shows."),
            Indicator(
                code: "VN_DOLAB_DEPLOYMENT_TARGET", name: "Target for Vietnamese workers sent abroad",
                compiler: dolab, measure: .target, unit: "persons", periodBasis: .calendarYear,
                description: "The plan for a year, not an outcome."),
            Indicator(
                code: "VN_DOLAB_TECHNICAL_INTERNS_SENT", name: "Vietnamese technical interns sent to Japan",
                compiler: dolab, measure: .flow, unit: "persons", periodBasis: .calendarYear,
                description: "Technical interns sent per year (or part of a year, as the period shows)."),
            Indicator(
                code: "STATEMENT_VN_NATIONALS_IN_JP", name: "Stated: Vietnamese living (and working) in Japan",
                measure: .claim, unit: "persons", periodBasis: .asOfDate,
                description: "A figure stated by a person or article, not a statistic; scope as worded."),
            Indicator(
                code: "STATEMENT_VN_WORKERS_SENT", name: "Stated: Vietnamese workers sent to Japan in a year",
                measure: .claim, unit: "persons", periodBasis: .calendarYear,
                description: "A figure stated by a person or article, not a statistic."),
            Indicator(
                code: "STATEMENT_TRAINEES_RECEIVED", name: "Stated: Vietnamese trainees received by Japan",
                measure: .claim, unit: "persons", periodBasis: .halfYear,
                description: "A figure stated by a person or article, not a statistic."),
            Indicator(
                code: "STATEMENT_VN_TRAINEES_AND_WORKERS_IN_JP", name: "Stated: Vietnamese trainees and workers in Japan",
                measure: .claim, unit: "persons", periodBasis: .asOfDate,
                description: "A figure stated by a person or article, not a statistic; scope undefined."),
            Indicator(
                code: "JP_ODA_COMMITTED_CUMULATIVE", name: "Japanese ODA committed to Viet Nam, cumulative",
                compiler: "Government of Japan", measure: .amount, unit: "JPY", periodBasis: .other,
                description: "Official development assistance committed since Japan resumed ODA in 1992."),
            Indicator(
                code: "JP_ODA_PLEDGE", name: "Japanese ODA pledged to Viet Nam", compiler: "Government of Japan",
                measure: .amount, unit: "JPY", periodBasis: .japaneseFiscalYear,
                description: "ODA pledged for a Japanese fiscal year."),
            Indicator(
                code: "JP_ODA_LOANS_EXPECTED", name: "Japanese ODA loans to Viet Nam expected in a year",
                compiler: "Government of Japan", measure: .amount, unit: "JPY", periodBasis: .calendarYear,
                description: "An expectation stated by the Japanese government, not an outcome."),
        ].map { ($0.code, $0) })

    // MARK: Sources beyond the figures table

    /// A source the events and agreements cite, keyed for reference below. Figures-table sources are keyed by
    /// their URL; these by a short name. Where the README gives only a site and an article number, the URL is
    /// left empty and the note says what was read.
    struct SeedSource {
        var key: String
        var source: Source
    }

    static let dangcongsan599450 =
        "https://en.dangcongsan.vn/vietnam-today/vietnam-japan-promote-human-resource-cooperation-599450.html"
    static let hanoitimes325667 = "https://m.hanoitimes.vn/vietnam-sends-record-workers-to-japan-325667.html"
    static let tapchi1330612 =
        "https://tapchilaodongxahoi.vn/promote-human-resource-cooperation-between-vietnam-and-japan-1330612.html"
    static let dtinews20230826 = "https://dtinews.dantri.com.vn/print/20230826122030877.htm"
    static let vietstock201601 =
        "https://en.vietstock.vn/2016/01/japan-pledges-$812mn-in-fresh-oda-to-vietnam-38-224469.htm"

    private static func article(_ key: String, publisher: String, published: String, read: String, language: String = "")
        -> SeedSource
    {
        SeedSource(
            key: key,
            source: Source(
                title: "(\(publisher) article \(read))", publisher: publisher, published: published, kind: .news,
                language: language, note: "as read: \(publisher) \(read); full URL not recorded"))
    }

    static let sources: [SeedSource] = [
        SeedSource(
            key: "baohaiduong",
            source: Source(
                title: "(baohaiduong.vn article on 50 years of Vietnam–Japan relations, reprint of Tin Tuc)",
                publisher: "baohaiduong.vn (reprint of Tin Tuc)", originalPublisher: "Tin Tuc",
                published: "2023-11-27", kind: .repost, note: "as read: baohaiduong.vn (Tin Tuc), 2023-11-27; URL not recorded")),
        SeedSource(
            key: "mofa-joint0904",
            source: Source(
                title: "(Japan–Viet Nam joint statement: Toward a Strategic Partnership for Peace and Prosperity in Asia)",
                publisher: "Ministry of Foreign Affairs of Japan", url: "https://www.mofa.go.jp/region/asia-paci/vietnam/joint0904.html",
                published: "2006-10-19", kind: .officialText, language: "en")),
        SeedSource(
            key: "baria-vungtau",
            source: Source(
                title: "(soct.baria-vungtau.gov.vn article on the Extensive Strategic Partnership)",
                publisher: "soct.baria-vungtau.gov.vn", kind: .news,
                note: "as read: soct.baria-vungtau.gov.vn; URL not recorded")),
        article("vnmanpower-n475", publisher: "vnmanpower.com", published: "", read: "n475"),
        article("laodongxahoi-1312915", publisher: "m.laodongxahoi.net", published: "", read: "1312915"),
        article("baoquocte", publisher: "baoquocte.vn", published: "", read: "on MOLISA–prefecture memoranda"),
        article("vietnamplus-157829", publisher: "VietnamPlus", published: "", read: "157829"),
        article("vietnamnet-590092", publisher: "VietNamNet", published: "", read: "590092"),
        article("vietnamplus-post267248", publisher: "VietnamPlus", published: "", read: "post267248"),
        article("vietnamplus-231910", publisher: "VietnamPlus", published: "", read: "231910"),
        article("vietnamplus-231448", publisher: "VietnamPlus", published: "", read: "231448"),
        article("vietnamplus-271930", publisher: "VietnamPlus", published: "", read: "271930"),
        SeedSource(
            key: "nippon-jiji-20231128",
            source: Source(
                title: "(Jiji Press report on the Comprehensive Strategic Partnership)", publisher: "Jiji Press via nippon.com",
                originalPublisher: "Jiji Press", published: "2023-11-28", kind: .news, language: "en",
                note: "as read: nippon.com (Jiji) 2023-11-28; URL not recorded")),
        SeedSource(
            key: "moj-asean-japan",
            source: Source(
                title: "(ASEAN-Japan Special Meeting of Justice Ministers)", publisher: "Ministry of Justice of Japan",
                url: "https://www.moj.go.jp/EN/kokusai/m_kokusai08_00013.html", published: "2023-07",
                kind: .officialRelease, language: "en")),
    ]

    // MARK: People

    static let daoNgocDung = Participant(
        name: "Dao Ngoc Dung", nativeName: "Đào Ngọc Dung", title: "Minister of Labour, Invalids and Social Affairs",
        organisation: "Ministry of Labour, Invalids and Social Affairs (MOLISA)", country: "VN")
    static let furukawa = Participant(
        name: "Furukawa Yoshihisa", nativeName: "古川禎久", title: "Minister of Justice",
        organisation: "Ministry of Justice", country: "JP")
    static let nguyenKhanhNgoc = Participant(
        name: "Nguyen Khanh Ngoc", nativeName: "Nguyễn Khánh Ngọc", title: "Deputy Minister of Justice",
        organisation: "Ministry of Justice", country: "VN")
    static let shiozaki = Participant(
        name: "Shiozaki Yasuhisa", title: "Minister of Health, Labour and Welfare",
        organisation: "Ministry of Health, Labour and Welfare (MHLW)", country: "JP")
    static let yamada = Participant(
        name: "Yamada Takio", title: "Ambassador of Japan to Viet Nam (outgoing)", organisation: "Embassy of Japan",
        country: "JP")

    // MARK: Events

    struct SeedEvent {
        var key: String
        var event: Event
        var sourceKeys: [String]
        var relatedKeys: [String] = []
    }

    static let pair = ["VN", "JP"]

    /// In dependency order: an event comes after those it relates to.
    static let events: [SeedEvent] = [
        SeedEvent(
            key: "relations-1973",
            event: Event(
                kind: .milestone, title: "Viet Nam and Japan establish diplomatic relations", countries: pair,
                actualDate: "1973-09-21", status: .held, summary: "Diplomatic relations established on 21 September 1973."),
            sourceKeys: ["baohaiduong"]),
        SeedEvent(
            key: "interns-1992",
            event: Event(
                kind: .milestone, title: "Japan begins receiving Vietnamese technical interns", countries: pair,
                actualDate: "1992", status: .held),
            sourceKeys: [dtinews20230826]),
        SeedEvent(
            key: "oda-1992",
            event: Event(
                kind: .milestone, title: "Japan resumes official development assistance to Viet Nam", countries: pair,
                actualDate: "1992", status: .held),
            sourceKeys: [vietstock201601]),
        SeedEvent(
            key: "titp-signing-2017",
            event: Event(
                kind: .signing, title: "Signing of the memorandum of cooperation on technical intern training",
                countries: pair, actualDate: "2017-06-06", status: .held, place: "Tokyo",
                participants: [daoNgocDung, shiozaki],
                summary: "Minister Dao Ngoc Dung and MHLW Minister Shiozaki sign the memorandum of cooperation on "
                    + "the Technical Intern Training Program."),
            sourceKeys: ["vnmanpower-n475"]),
        SeedEvent(
            key: "labour-forum-2019",
            event: Event(
                kind: .forum, title: "Vietnam–Japan Labour Cooperation Forum", countries: pair,
                actualDate: "2019-12-16", status: .held, place: "Tokyo"),
            sourceKeys: [hanoitimes325667]),
        SeedEvent(
            key: "dung-furukawa-2022",
            event: Event(
                kind: .meeting, title: "Minister Dao Ngoc Dung meets Japanese Justice Minister Furukawa Yoshihisa",
                countries: pair, actualDate: "2022-06-29", status: .held, participants: [daoNgocDung, furukawa],
                summary: "Vietnam's Minister of Labour, Invalids and Social Affairs Dao Ngoc Dung and Japan's Minister "
                    + "of Justice Furukawa Yoshihisa discuss human resource cooperation: Vietnamese workers and "
                    + "technical interns in Japan, the 50th anniversary of diplomatic relations in 2023, and a "
                    + "Japan–ASEAN justice ministers' conference planned for July 2022."),
            sourceKeys: [dangcongsan599450, "vietnamplus-231910"]),
        SeedEvent(
            key: "ngoc-furukawa-2022",
            event: Event(
                kind: .meeting, title: "Deputy Justice Minister Nguyen Khanh Ngoc holds talks with Furukawa Yoshihisa",
                countries: pair, actualDate: "2022-06-29", status: .held, participants: [nguyenKhanhNgoc, furukawa],
                summary: "Talks between the justice ministries on legal and judicial cooperation, the same day."),
            sourceKeys: ["vietnamplus-231910"]),
        SeedEvent(
            key: "asean-japan-justice-2023",
            event: Event(
                kind: .conference, title: "ASEAN-Japan Special Meeting of Justice Ministers", countries: pair,
                plannedDate: "2022-07", actualDate: "2023-07-06", status: .held, place: "Tokyo",
                summary: "Announced at the 2022-06-29 meeting as a Japan–ASEAN justice ministers' conference for "
                    + "July 2022; held in Tokyo on 6 July 2023."),
            sourceKeys: ["moj-asean-japan", dangcongsan599450], relatedKeys: ["dung-furukawa-2022"]),
        SeedEvent(
            key: "anniversary-2023",
            event: Event(
                kind: .anniversary, title: "50th anniversary of Vietnam–Japan diplomatic relations", countries: pair,
                plannedDate: "2023", actualDate: "2023-09-21", status: .held,
                summary: "Fifty years since relations were established on 21 September 1973; announced in the seed "
                    + "article as a milestone for 2023."),
            sourceKeys: [dangcongsan599450, "baohaiduong"], relatedKeys: ["relations-1973", "dung-furukawa-2022"]),
        SeedEvent(
            key: "dung-yamada-2024",
            event: Event(
                kind: .meeting, title: "Minister Dao Ngoc Dung receives outgoing Japanese Ambassador Yamada Takio",
                countries: pair, actualDate: "2024-04-09", status: .held, participants: [daoNgocDung, yamada],
                summary: "The ambassador puts the number of Vietnamese in Japan at about 570,000 at the end of 2023."),
            sourceKeys: [tapchi1330612]),
    ]

    // MARK: Agreements

    struct SeedAgreement {
        var key: String
        var agreement: Agreement
        var sourceKeys: [String]
        var eventKey: String? = nil
    }

    private static let vietNam = Party(name: "Government of Viet Nam", country: "VN")
    private static let japan = Party(name: "Government of Japan", country: "JP")
    private static let molisa = Party(name: "Ministry of Labour, Invalids and Social Affairs (MOLISA)", country: "VN")

    static let agreements: [SeedAgreement] = [
        SeedAgreement(
            key: "strategic-partnership-2006",
            agreement: Agreement(
                kind: .jointStatement, title: "Toward a Strategic Partnership for Peace and Prosperity in Asia",
                parties: [vietNam, japan], signedDate: "2006-10-19", topics: ["strategic_partnership"],
                textURL: "https://www.mofa.go.jp/region/asia-paci/vietnam/joint0904.html",
                summary: "Joint statement establishing the Strategic Partnership."),
            sourceKeys: ["mofa-joint0904"]),
        SeedAgreement(
            key: "extensive-strategic-partnership-2014",
            agreement: Agreement(
                kind: .partnership, title: "Extensive Strategic Partnership for Peace and Prosperity in Asia",
                parties: [vietNam, japan], signedDate: "2014-03-18", topics: ["strategic_partnership"],
                summary: "Relations upgraded to an Extensive Strategic Partnership."),
            sourceKeys: ["baria-vungtau"]),
        SeedAgreement(
            key: "titp-moc-2017",
            agreement: Agreement(
                kind: .memorandum, title: "Memorandum of cooperation on the Technical Intern Training Program",
                parties: [molisa, Party(name: "Ministry of Health, Labour and Welfare (MHLW)", country: "JP")],
                signedDate: "2017-06-06", place: "Tokyo", topics: ["technical_intern_training"],
                textURL: "https://www.moj.go.jp/isa/content/930003310.pdf",
                summary: "Signed in Tokyo by Minister Dao Ngoc Dung and MHLW Minister Shiozaki."),
            sourceKeys: ["vnmanpower-n475"], eventKey: "titp-signing-2017"),
        SeedAgreement(
            key: "ssw-moc-2019",
            agreement: Agreement(
                kind: .memorandum, title: "Memorandum of cooperation on specified skilled workers",
                parties: [molisa, japan], signedDate: "2019-07-01", place: "Tokyo",
                topics: ["specified_skilled_workers"], textURL: "https://www.moj.go.jp/isa/content/930004304.pdf",
                summary: "Exchanged in Tokyo."),
            sourceKeys: ["laodongxahoi-1312915"]),
        SeedAgreement(
            key: "prefecture-memoranda",
            agreement: Agreement(
                kind: .memorandum, title: "Labour cooperation memoranda between MOLISA and Japanese prefectures",
                parties: [
                    molisa, Party(name: "Chiba Prefecture", country: "JP", subnational: true),
                    Party(name: "Nagano Prefecture", country: "JP", subnational: true),
                    Party(name: "Kanagawa Prefecture", country: "JP", subnational: true),
                    Party(name: "Saitama Prefecture", country: "JP", subnational: true),
                    Party(name: "Gunma Prefecture", country: "JP", subnational: true),
                    Party(name: "Wakayama Prefecture", country: "JP", subnational: true),
                ],
                signedDate: "2019-03", topics: ["labour_cooperation", "technical_intern_training"],
                summary: "Memoranda with Chiba (March 2019), Nagano (2019-08-14) and Kanagawa (2019); later with "
                    + "Saitama, Gunma and Wakayama (July 2023)."),
            sourceKeys: ["baoquocte", "vietnamplus-157829", "vietnamnet-590092", "vietnamplus-post267248"]),
        SeedAgreement(
            key: "legal-cooperation-2020",
            agreement: Agreement(
                kind: .memorandum, title: "Memorandum on legal and judicial cooperation",
                parties: [
                    Party(name: "Ministry of Justice of Viet Nam", country: "VN"),
                    Party(name: "Ministry of Justice of Japan", country: "JP"),
                ],
                signedDate: "2020-10", topics: ["legal_cooperation"],
                summary: "Cooperation between the justice ministries."),
            sourceKeys: ["vietnamplus-231910"]),
        SeedAgreement(
            key: "im-japan-2022",
            agreement: Agreement(
                kind: .memorandum, title: "MOLISA–IM Japan memorandum on technical intern training",
                parties: [molisa, Party(name: "IM Japan", country: "JP")], signedDate: "2022-06-20",
                topics: ["technical_intern_training"],
                summary: "Sending technical interns aged 18 to 30 through IM Japan."),
            sourceKeys: ["vietnamplus-231448"]),
        SeedAgreement(
            key: "comprehensive-strategic-partnership-2023",
            agreement: Agreement(
                kind: .partnership,
                title: "Comprehensive Strategic Partnership for Peace and Prosperity in Asia and the World",
                parties: [vietNam, japan], signedDate: "2023-11-27", topics: ["strategic_partnership"],
                summary: "Relations upgraded to a Comprehensive Strategic Partnership."),
            sourceKeys: ["vietnamplus-271930", "nippon-jiji-20231128"]),
    ]

    // MARK: Relationship

    /// Established date and levels; each level names the agreement (by key) that set it.
    static let relationshipEstablished = "1973-09-21"
    static let relationshipLevels: [(level: String, since: String, agreementKey: String)] = [
        ("Strategic Partnership", "2006-10-19", "strategic-partnership-2006"),
        ("Extensive Strategic Partnership", "2014-03-18", "extensive-strategic-partnership-2014"),
        ("Comprehensive Strategic Partnership", "2023-11-27", "comprehensive-strategic-partnership-2023"),
    ]

    // MARK: Statements

    /// Finds one observation of the figures table by what it says (not by position).
    struct FigureRef {
        var indicator: String
        var origin: String
        var destination: String
        var periodEnd: String
        var value: Int64
    }

    struct SeedStatement {
        var key: String
        var speaker: Participant
        var eventKey: String
        var saidOn: String
        var text: String
        var sourceKey: String
        var claim: FigureRef
        var conflictsWith: [FigureRef]
        var note: String
    }

    static let statements: [SeedStatement] = [
        SeedStatement(
            key: "dung-500000", speaker: daoNgocDung, eventKey: "dung-furukawa-2022", saidOn: "2022-06-29",
            text: "About 500,000 Vietnamese are living and working in Japan.", sourceKey: dangcongsan599450,
            claim: FigureRef(
                indicator: "STATEMENT_VN_NATIONALS_IN_JP", origin: "VN", destination: "JP", periodEnd: "2022-06-29",
                value: 500_000),
            conflictsWith: [
                FigureRef(
                    indicator: "JP_ISA_FOREIGN_RESIDENTS", origin: "VN", destination: "JP", periodEnd: "2021-12-31",
                    value: 432_934),
                FigureRef(
                    indicator: "JP_ISA_FOREIGN_RESIDENTS", origin: "VN", destination: "JP", periodEnd: "2022-06-30",
                    value: 476_346),
            ],
            note: "ISA counted 432,934 Vietnamese residents at the end of 2021 and 476,346 at the end of June 2022."),
        SeedStatement(
            key: "dung-149000", speaker: daoNgocDung, eventKey: "dung-furukawa-2022", saidOn: "2022-06-29",
            text: "A record 149,000 Vietnamese workers were sent to Japan in 2019.", sourceKey: dangcongsan599450,
            claim: FigureRef(
                indicator: "STATEMENT_VN_WORKERS_SENT", origin: "VN", destination: "JP", periodEnd: "2019-12-31",
                value: 149_000),
            conflictsWith: [
                FigureRef(
                    indicator: "VN_DOLAB_WORKERS_DEPLOYED", origin: "VN", destination: "JP", periodEnd: "2019-12-31",
                    value: 80_002),
                FigureRef(
                    indicator: "VN_DOLAB_WORKERS_DEPLOYED", origin: "VN", destination: "_T", periodEnd: "2019-12-31",
                    value: 147_387),
            ],
            note: "DOLAB: 80,002 sent to Japan of 147,387 to all destinations in 2019; the article's figure is likely "
                + "the all-destinations total attributed to Japan."),
        SeedStatement(
            key: "dung-50000", speaker: daoNgocDung, eventKey: "dung-furukawa-2022", saidOn: "2022-06-29",
            text: "Japan received 50,000 Vietnamese trainees in the first six months of 2022.",
            sourceKey: dangcongsan599450,
            claim: FigureRef(
                indicator: "STATEMENT_TRAINEES_RECEIVED", origin: "VN", destination: "JP", periodEnd: "2022-06-30",
                value: 50_000),
            conflictsWith: [
                FigureRef(
                    indicator: "VN_DOLAB_WORKERS_DEPLOYED", origin: "VN", destination: "JP", periodEnd: "2022-06-30",
                    value: 32_053)
            ],
            note: "DOLAB counted 32,053 workers sent to Japan in the first half of 2022."),
        SeedStatement(
            key: "furukawa-200000", speaker: furukawa, eventKey: "dung-furukawa-2022", saidOn: "2022-06-29",
            text: "About 200,000 of the Vietnamese in Japan are trainees and workers.", sourceKey: dangcongsan599450,
            claim: FigureRef(
                indicator: "STATEMENT_VN_TRAINEES_AND_WORKERS_IN_JP", origin: "VN", destination: "JP",
                periodEnd: "2022-06-29", value: 200_000),
            conflictsWith: [
                FigureRef(
                    indicator: "JP_MHLW_FOREIGN_WORKERS", origin: "VN", destination: "JP", periodEnd: "2021-10-31",
                    value: 453_344)
            ],
            note: "MHLW counted 453,344 Vietnamese workers at the end of October 2021 (definitions differ; the "
                + "scope of the statement is undefined)."),
        SeedStatement(
            key: "yamada-570000", speaker: yamada, eventKey: "dung-yamada-2024", saidOn: "2024-04-09",
            text: "About 570,000 Vietnamese were living, studying and working in Japan at the end of 2023.",
            sourceKey: tapchi1330612,
            claim: FigureRef(
                indicator: "STATEMENT_VN_NATIONALS_IN_JP", origin: "VN", destination: "JP", periodEnd: "2023-12-31",
                value: 570_000),
            conflictsWith: [], note: "ISA counted 565,026 at the end of 2023: consistent with the rounded figure."),
    ]
}
