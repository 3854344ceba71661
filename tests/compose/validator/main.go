// compose-validate loads a Compose file with compose-go, the loader `docker compose` itself uses,
// so the file is checked against the Compose specification's schema and its interpolation,
// anchors and merges are resolved the way Docker would. It prints the resulting project as JSON
// on stdout (for the Python checks in tests/compose) or one error line on stderr and exits 1.
//
// Usage: compose-validate FILE (the variables come from the environment; all profiles are loaded)
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: compose-validate FILE")
		os.Exit(2)
	}
	options, err := cli.NewProjectOptions(
		[]string{os.Args[1]},
		cli.WithOsEnv,
		cli.WithName("logwarden"),
		cli.WithResolvedPaths(true),
		cli.WithProfiles([]string{"*"}),
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, "compose-validate:", err)
		os.Exit(1)
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "compose-validate:", err)
		os.Exit(1)
	}
	out, err := project.MarshalJSON()
	if err != nil {
		fmt.Fprintln(os.Stderr, "compose-validate:", err)
		os.Exit(1)
	}
	os.Stdout.Write(out)
	fmt.Println()
}
