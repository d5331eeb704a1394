using System.Text;

namespace GoTrack.Core.Configuration;

/// <summary>Renders a service's <c>--help</c> from its settings table, so the text and the validation never drift apart.</summary>
public static class SettingsHelp
{
    public static string Render(string header, IEnumerable<(string Section, SettingDoc[] Settings)> sections)
    {
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(sections);
        var sb = new StringBuilder();
        sb.AppendLine(header.TrimEnd());
        sb.AppendLine("Settings are environment variables (or the same keys in appsettings.json / the AppHost).");
        sb.AppendLine("A bad value stops the start with a message that names the variable (exit code 2).");
        foreach (var (section, settings) in sections)
        {
            sb.AppendLine();
            sb.AppendLine(section + ":");
            var width = settings.Max(s => s.Name.Length);
            foreach (var s in settings)
            {
                var def = s.Default.Length == 0 ? "(unset)" : s.Default;
                sb.Append("  ").Append(s.Name.PadRight(width)).Append("  default ").AppendLine(def);
                sb.Append("  ").Append(' ', width).Append("  ").AppendLine(s.Meaning);
            }
        }

        return sb.ToString();
    }
}
