// compose-render loads a compose file with compose-go (the library Docker Compose itself uses) and
// prints it as Docker Compose's canonical JSON (what `docker compose config --format json` prints):
// interpolated from this process's environment, merged, normalized and validated. A required
// variable (${NAME:?...}) that is unset fails the load, as it fails `docker compose up`.
//
//	compose-render -f docker-compose.yml              # the project, JSON
//	compose-render -f docker-compose.yml -variables   # the variables the file uses, JSON
//
// Built by build.sh into ~/.cache/skyferry/bin; used by test/shipped/compose.test.ts, as there is
// no Docker engine (nor compose plugin) on the machines that run the tests.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/template"
)

type variable struct {
	Name     string `json:"name"`
	Default  string `json:"default"`
	Required bool   `json:"required"`
}

func main() {
	file := flag.String("f", "docker-compose.yml", "the compose file")
	variables := flag.Bool("variables", false, "print the variables the file interpolates instead of the project")
	flag.Parse()
	if err := run(*file, *variables); err != nil {
		fmt.Fprintln(os.Stderr, "compose-render:", err)
		os.Exit(1)
	}
}

func run(file string, variables bool) error {
	abs, err := filepath.Abs(file)
	if err != nil {
		return err
	}
	// The process environment only (no .env file): the caller decides exactly what is set.
	base := []cli.ProjectOptionsFn{cli.WithOsEnv, cli.WithWorkingDirectory(filepath.Dir(abs))}
	ctx := context.Background()
	if variables {
		opts, err := cli.NewProjectOptions([]string{abs}, append(base, cli.WithInterpolation(false))...)
		if err != nil {
			return err
		}
		model, err := opts.LoadModel(ctx)
		if err != nil {
			return err
		}
		var out []variable
		for _, v := range template.ExtractVariables(model, template.DefaultPattern) {
			out = append(out, variable{Name: v.Name, Default: v.DefaultValue, Required: v.Required})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
		return json.NewEncoder(os.Stdout).Encode(out)
	}
	opts, err := cli.NewProjectOptions([]string{abs}, base...)
	if err != nil {
		return err
	}
	project, err := opts.LoadProject(ctx)
	if err != nil {
		return err
	}
	text, err := project.MarshalJSON()
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(append(text, '\n'))
	return err
}
