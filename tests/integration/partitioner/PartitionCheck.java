// Reads hex-encoded keys from stdin, one per line, and prints for each Kafka's own
// Utils.murmur2 (as a signed int) and Utils.toPositive(murmur2) % n for every n given as an
// argument, space-separated. Run with Java 17's single-file source launcher:
//   java -cp "$XBANKU_KAFKA_LIBS/*" PartitionCheck.java 1 3 6 7 12 64 < keys.hex
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import org.apache.kafka.common.utils.Utils;

public class PartitionCheck {
  public static void main(String[] args) throws Exception {
    int[] counts = new int[args.length];
    for (int i = 0; i < args.length; i++) counts[i] = Integer.parseInt(args[i]);
    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.US_ASCII));
    StringBuilder out = new StringBuilder();
    String line;
    while ((line = in.readLine()) != null) {
      byte[] key = HexFormat.of().parseHex(line.trim());
      int h = Utils.murmur2(key);
      out.append(h);
      for (int n : counts) out.append(' ').append(Utils.toPositive(h) % n);
      out.append('\n');
    }
    System.out.print(out);
  }
}
