package discord

import "github.com/bwmarrin/discordgo"

// GatewayInteraction hands an INTERACTION_CREATE event to the adapter as the
// gateway session's handler does.
func (a *Adapter) GatewayInteraction(ic *discordgo.InteractionCreate) {
	a.gatewayInteraction(ic.Interaction)
}
