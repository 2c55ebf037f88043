package dev.fleetserver.netty;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fleetserver.core.FleetCore;
import dev.fleetserver.netty.config.ConfigLoader;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What {@code main} prints about the enrollment token. */
class FleetServerMainTest {
    private static final String HINT = "java -jar fleet-server.jar enrollment-token --data-dir data";

    @Test
    void theTokenIsPrintedWhenItsKeyWasMadeByThisStartOrWhenSomeoneWatchesATerminal() {
        assertThat(FleetServerMain.enrollmentTokenLine(new FleetCore.Started("tok", true), false, HINT))
                .isEqualTo("Enrollment token: tok");
        assertThat(FleetServerMain.enrollmentTokenLine(new FleetCore.Started("tok", false), true, HINT))
                .isEqualTo("Enrollment token: tok");
    }

    @Test
    void otherwiseOnlyHowToPrintItIsPrinted() {
        assertThat(FleetServerMain.enrollmentTokenLine(new FleetCore.Started("tok", false), false, HINT))
                .isEqualTo("To print the enrollment token: " + HINT);
        assertThat(FleetServerMain.enrollmentTokenLine(new FleetCore.Started(null, false), false, HINT))
                .startsWith("No policy with id \"default\"");
    }

    @Test
    void howToPrintItRepeatsTheFlagsThatSayWhereTheStateIs() {
        String[] args = {"--config", "/etc/fleet-server/fleet-server.yml", "--data-dir", "/var/lib/fleet-server", "--port", "8220"};
        var config = ConfigLoader.load(new String[] {"--data-dir", "/var/lib/fleet-server", "--port", "8220"}, Map.of());

        assertThat(FleetServerMain.hint(args, config)).isEqualTo("java -jar fleet-server.jar enrollment-token "
                + "--config /etc/fleet-server/fleet-server.yml --data-dir /var/lib/fleet-server");
        assertThat(FleetServerMain.hint(new String[0], ConfigLoader.load(new String[0], Map.of())))
                .isEqualTo("java -jar fleet-server.jar enrollment-token --data-dir ./data");
    }
}
