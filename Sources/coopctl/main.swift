import CoopCtl

await Coopctl.runMain()
