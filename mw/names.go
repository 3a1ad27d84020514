package mw

// The wiki's own names: the API modules wikimod sends, the log types and
// actions it reads, and the rights it asks about. They are MediaWiki's, not
// wikimod's: a chat command may share a module's name, but it names the
// command by its own constant.
const (
	ModuleProtect          = "protect"
	ModuleValidatePassword = "validatepassword"
	ModuleResetPassword    = "resetpassword"
	ModuleCreateAccount    = "createaccount"
	ModuleEmailUser        = "emailuser"
)

// Log types (letype) and the actions of the protect log.
const (
	LogProtect  = "protect"
	LogNewUsers = "newusers"

	ActionProtect   = "protect"
	ActionModify    = "modify"
	ActionUnprotect = "unprotect"
	ActionMoveProt  = "move_prot"
)

// Rights (User::isAllowed) wikimod asks a person or the bot for.
const (
	RightRead              = "read"
	RightProtect           = "protect"
	RightEditProtected     = "editprotected"
	RightEditSemiProtected = "editsemiprotected"
	RightCreateAccount     = "createaccount"
	RightEditMyPrivateInfo = "editmyprivateinfo"
	RightSendEmail         = "sendemail"
	RightNoRateLimit       = "noratelimit"
)

// The protection levels MediaWiki names after groups rather than rights
// ($wgRestrictionLevels' historical aliases).
const (
	LevelSysop         = "sysop"
	LevelAutoconfirmed = "autoconfirmed"
)

// The wiki's own interface messages wikimod shows in the reader's language
// (meta=allmessages), so that they read as on the wiki itself.
const (
	MsgProtectExpiryOptions    = "protect-expiry-options"    // the expiry choices, "label:value,…"
	MsgProtectDropdown         = "protect-dropdown"          // the reason choices, a "*"/"**" list
	MsgProtectCascade          = "protect-cascade"           // cascading protection, described
	MsgProtectExpiryIndefinite = "protect-expiry-indefinite" // "indefinite"
	MsgProtectDefault          = "protect-default"           // the level "" ("Allow all users")
)

// RestrictionMessage is the message naming a protection type
// ("restriction-edit": "Edit").
func RestrictionMessage(typ string) string { return "restriction-" + typ }

// LevelMessage is the message naming a protection level
// ("protect-level-sysop": "Allow only administrators"); the level "" (no
// protection) is MsgProtectDefault.
func LevelMessage(level string) string {
	if level == "" {
		return MsgProtectDefault
	}
	return "protect-level-" + level
}
