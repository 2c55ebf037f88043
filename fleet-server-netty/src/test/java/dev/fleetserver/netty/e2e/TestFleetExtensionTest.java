package dev.fleetserver.netty.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.Socket;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * What {@link TestFleetExtension} promises the tests that register it, checked by calling its callbacks as JUnit does
 * around each test (it reads nothing from the context it is given).
 */
class TestFleetExtensionTest {
    private static boolean accepts(int port) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static long checkinMax(TestFleetExtension fleet) {
        return fleet.daemon().server().admission().limits().route("checkin").max();
    }

    @Test
    void eachTestHasAFreshDataDirectoryAndDaemonAndNeitherOutlivesIt() throws Exception {
        TestFleetExtension fleet = TestFleetExtension.embedded();
        fleet.beforeEach(null);
        Path first = fleet.dataDir();
        int port = fleet.port();
        assertThat(fleet.agent().status(null).status()).isEqualTo(200);
        assertThat(first.resolve("fleet.db")).exists();
        fleet.afterEach(null);
        assertThat(first).doesNotExist();
        assertThat(accepts(port)).isFalse();

        fleet.beforeEach(null);
        try {
            assertThat(fleet.dataDir()).isNotEqualTo(first);
            assertThat(fleet.enroll().id()).isNotBlank();
        } finally {
            fleet.afterEach(null);
        }
    }

    @Test
    void aRestartKeepsTheDataDirectoryAndTheCleanUpRunsOnlyAfterTheLastStop() throws Exception {
        AtomicInteger cleanUps = new AtomicInteger();
        int[] port = new int[1];
        TestFleetExtension fleet = TestFleetExtension.embedded().cleanUp(() -> {
            assertThat(accepts(port[0])).as("the daemon stopped before the clean-up").isFalse();
            cleanUps.incrementAndGet();
        });
        fleet.beforeEach(null);
        Path dataDir = fleet.dataDir();
        String token = fleet.daemon().enrollmentToken();
        E2eSupport.Enrolled a = fleet.enrollUpToDate();

        fleet.restart();
        port[0] = fleet.port();

        assertThat(cleanUps).hasValue(0);
        assertThat(fleet.dataDir()).isEqualTo(dataDir);
        assertThat(fleet.daemon().enrollmentToken()).isEqualTo(token);
        assertThat(fleet.agent().checkin(a.id(), a.key(), E2eSupport.runningPolicy("default", 1)).status()).isEqualTo(200);
        fleet.afterEach(null);
        assertThat(cleanUps).hasValue(1);
        assertThat(dataDir).doesNotExist();
    }

    @Test
    void theServerTweakGivenAtRegistrationAppliesToEveryStartUnlessTheStartReplacesIt() throws Exception {
        TestFleetExtension fleet = TestFleetExtension.embedded()
                .server(server -> server.with("limits").putObject("checkin_limit").put("max", 7));
        fleet.beforeEach(null);
        try {
            assertThat(checkinMax(fleet)).isEqualTo(7);
            fleet.restart();
            assertThat(checkinMax(fleet)).isEqualTo(7);
            fleet.restart(server -> server.with("limits").putObject("checkin_limit").put("max", 9));
            assertThat(checkinMax(fleet)).isEqualTo(9);
        } finally {
            fleet.afterEach(null);
        }
    }

    @Test
    void startedByTestThereIsNoDaemonUntilTheTestStartsOneAndOnlyOneAtATime() throws Exception {
        TestFleetExtension fleet = TestFleetExtension.embedded().startedByTest();
        fleet.beforeEach(null);
        try {
            assertThat(fleet.dataDir()).isEmptyDirectory();
            assertThatThrownBy(fleet::daemon).isInstanceOf(IllegalStateException.class);

            fleet.startWithRoot(root -> root.putObject("http").put("enabled", true).put("host", "127.0.0.1").put("port", 0));
            assertThat(fleet.daemon().metricsPort()).isPositive();
            assertThatThrownBy(fleet::start).isInstanceOf(IllegalStateException.class);

            fleet.stop();
            fleet.start();
            assertThat(fleet.daemon().metricsPort()).isEqualTo(-1);
        } finally {
            fleet.afterEach(null);
        }
    }

    @Test
    void theInputTweakIsGivenInputsZeroAndAFailedStartLeavesNothingToStop() throws Exception {
        TestFleetExtension fleet = TestFleetExtension.embedded().startedByTest().input(input -> input.put("type", "log"));
        fleet.beforeEach(null);
        Path dataDir = fleet.dataDir();
        assertThatThrownBy(fleet::start).hasMessageContaining("expected \"fleet-server\", got \"log\"");
        assertThatThrownBy(fleet::daemon).isInstanceOf(IllegalStateException.class);
        fleet.afterEach(null);
        assertThat(dataDir).doesNotExist();
    }
}
