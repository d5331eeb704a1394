using System.Text;
using GoTrack.Core.Events;
using GoTrack.Ingest.Parsing;

namespace GoTrack.Tests.Unit;

/// <summary>The one table both parsers and the validation read: it must agree with itself.</summary>
public sealed class ClientFieldsTests
{
    [Fact]
    public void Every_field_is_found_by_its_own_name_and_every_text_field_has_its_own_slot()
    {
        var all = Enum.GetValues<ClientField>().Where(f => f != ClientField.None).ToArray();
        foreach (var field in all)
        {
            Assert.Equal(field, ClientFields.Lookup(Encoding.UTF8.GetBytes(ClientFields.Name(field))));
        }

        Assert.Equal(all.Where(f => f != ClientField.EventId), ClientFields.Text.ToArray());

        // Each slot is a different field of EventFields: writing one marker per field, each reads back its own.
        var f = default(EventFields);
        foreach (var field in ClientFields.Text)
        {
            ClientFields.Slot(ref f, field) = Encoding.UTF8.GetBytes(ClientFields.Name(field));
        }

        foreach (var field in ClientFields.Text)
        {
            Assert.Equal(ClientFields.Name(field), Encoding.UTF8.GetString(ClientFields.Slot(ref f, field)));
        }

        Assert.Equal(ClientField.None, ClientFields.Lookup("props"u8));
        Assert.Equal(ClientField.None, ClientFields.Lookup("utm_sourcex"u8));
    }
}
