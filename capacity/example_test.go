package capacity_test

import (
	"fmt"

	"github.com/photofeed/photofeed/capacity"
)

func Example() {
	in := capacity.SeedInputs()
	est := in.Estimate()
	fmt.Println(capacity.FormatCount(est.QPS), "QPS, about", capacity.FormatCount(capacity.Round(est.QPS, 2)))
	fmt.Println(capacity.Decimal.FormatBytes(est.StoragePerYr), "a year")
	fmt.Println(capacity.Decimal.FormatBytes(est.Bandwidth) + "/s")
	// Output:
	// 5,787.04 QPS, about 5,800
	// 1.825 PB a year
	// 1.157 GB/s
}

func ExampleDowntime() {
	for _, a := range []float64{99.9, 99.99, 99.999} {
		fmt.Printf("%g%%: %s a year\n", a, capacity.FormatDowntime(capacity.Downtime(a, capacity.Year)))
	}
	// Output:
	// 99.9%: 8.76 h a year
	// 99.99%: 52.6 min a year
	// 99.999%: 5.26 min a year
}

func ExampleSeries() {
	tiers, _ := capacity.ParseComponents("api=99.95x3,db=99.99x2")
	fmt.Printf("one instance each: %.4f%%\n", capacity.Series(tiers, false))
	fmt.Printf("with replicas:     %.8f%%\n", capacity.Series(tiers, true))
	// Output:
	// one instance each: 99.9400%
	// with replicas:     99.99999899%
}
