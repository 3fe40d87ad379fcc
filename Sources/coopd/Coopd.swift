import CoopDaemon

@main
enum Coopd {
    static func main() async {
        await CoopdCommand.main()
    }
}
