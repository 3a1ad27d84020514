package console

import "github.com/wikimod/wikimod/commands"

// Access is what one [[access]] rule names on the console: its users (the
// names `wikimod console -user` runs as). Its keys are read from the
// rule's table, beside the rule's own.
type Access struct {
	Users []string `toml:"console_users"`
}

// Identities are the rule's console identities for the domain.
func (a Access) Identities() commands.Identities {
	return commands.Users(PlatformName, a.Users...)
}
