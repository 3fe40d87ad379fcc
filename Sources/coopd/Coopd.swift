import CoopDaemon
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

@main
enum Coopd {
    static func main() {
        // First, on the main thread: threads inherit their scheduling (nice) from the thread that starts them.
        CoopdCommand.startEventLoops()
        Task(priority: .medium) {
            await CoopdCommand.main()
            exit(0)
        }
        dispatchMain()
    }
}
