import Testing

@testable import CoopFormats

@Suite struct SourceGuessTests {
    /// Publishers of the shipped figures table and the kind each reads as.
    @Test(arguments: [
        ("onetech.jp (reprint of VIETJO)", "日本のベトナム人労働者数", "", "https://onetech.jp/news/x", SourceGuess.Kind.repost),
        ("a-globalnet.com reproducing ISA", "令和5年6月末現在における在留外国人数について (ISA press release, reproduced)", "",
         "https://a-globalnet.com/isa-jp-20231013-2/", .officialReleaseReproduced),
        ("Finder Inc. (blog citing MOJ)", "在留ベトナム人数(2016年)", "", "https://www.finder-inc.jp/2017/03/25/x", .blog),
        ("sr-omoto.com (labour consultant) citing ISA", "(経営労務ニュース: 出入国在留管理庁が公表)", "",
         "https://www.sr-omoto.com/2025/04/23/x", .blog),
        ("Viet Nam Government Portal (baochinhphu)", "Vietnam sends workers abroad", "", "https://baochinhphu.vn/x",
         .officialRelease),
        ("VIETJO", "日本の在留ベトナム人数33万0835人で過去最高", "", "https://www.viet-jo.com/news/statistics/x.html", .news),
        ("phudat.vn (reprint of DOLAB report)", "54.131 lao động đi làm việc ở nước ngoài", "", "https://phudat.vn/x",
         .officialReleaseReproduced),
        ("5ch.net repost of VIETJO", "(forum repost of VIETJO article)", "", "https://hayabusa9.5ch.net/x", .repost),
        ("immi-consult.jp", "令和5年12月末の特定技能在留外国人数について", "", "https://immi-consult.jp/ssw", .blog),
        ("MHLW", "外国人雇用状況", "", "https://www.mhlw.go.jp/x", .officialRelease),
        ("Some site", "Some title", "copied (repost)", "https://example.org/", .repost),
    ])
    func kindsOfTheShippedPublishers(publisher: String, title: String, note: String, url: String, kind: SourceGuess.Kind) {
        #expect(SourceGuess.kind(publisher: publisher, title: title, note: note, url: url) == kind)
    }

    @Test func originalPublishers() {
        #expect(SourceGuess.originalPublisher("onetech.jp (reprint of VIETJO)", title: "") == "VIETJO")
        #expect(SourceGuess.originalPublisher("gai-access.com (reprint of VIETJO 2021-02-01)", title: "") == "VIETJO")
        #expect(SourceGuess.originalPublisher("QDND (source: VNA)", title: "") == "VNA")
        #expect(SourceGuess.originalPublisher("sr-omoto.com (labour consultant) citing ISA", title: "") == "ISA")
        #expect(SourceGuess.originalPublisher("Jiji Press via nippon.com", title: "") == "Jiji Press")
        #expect(SourceGuess.originalPublisher("Mekong Migration Network", title: "18,377 sent (reprint of VietNamNet)")
            == "VietNamNet")
        #expect(SourceGuess.originalPublisher("VIETJO", title: "日本") == "")
    }

    @Test func languagesOfTitles() {
        #expect(SourceGuess.language(ofTitle: "日本の在留ベトナム人数60万人") == "ja")
        #expect(SourceGuess.language(ofTitle: "(経営労務ニュース: 出入国在留管理庁が公表)") == "ja")
        #expect(SourceGuess.language(ofTitle: "54.131 lao động đi làm việc ở nước ngoài") == "vi")
        #expect(SourceGuess.language(ofTitle: "Overseas workers at record in 2015") == "en")
        #expect(SourceGuess.language(ofTitle: "(VIETJO article on MHLW end-Oct 2017 data)") == "")
    }

    /// The raw values are coopd's short names, which both sides map onto their own enums.
    @Test func kindsCarryTheAPIsShortNames() {
        #expect(SourceGuess.Kind.allCases.map(\.rawValue) == [
            "official_release", "news", "repost", "blog", "official_release_reproduced",
        ])
    }
}
